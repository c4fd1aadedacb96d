package protocol

import "fmt"

// StoredBatchError says that stored bytes at Offset are no batch: corrupt,
// or cut short where read promised whole batches. No batch boundary can be
// found past it.
type StoredBatchError struct {
	Offset int64
	Err    error
}

func (e *StoredBatchError) Error() string {
	return fmt.Sprintf("stored batch at offset %d: %v", e.Offset, e.Err)
}

func (e *StoredBatchError) Unwrap() error { return e.Err }

// ReadBatches hands apply every batch that read yields from offset up to
// end, and returns the offset after the last one. read returns whole
// stored batches from the offset it is given, at least one when there is
// one below end; a read that yields nothing new ends the walk. Errors of
// read come back as they are; bytes that are no batch end the walk with a
// *StoredBatchError. The coordinators load their partitions with it.
func ReadBatches(read func(offset int64) ([]byte, error), offset, end int64, apply func(h *BatchHeader, batch []byte)) (int64, error) {
	for offset < end {
		records, err := read(offset)
		if err != nil {
			return offset, err
		}
		from := offset
		for rest := records; len(rest) > 0; {
			h, batch, next, err := NextBatch(rest)
			if err != nil {
				return offset, &StoredBatchError{Offset: offset, Err: err}
			}
			apply(&h, batch)
			offset, rest = max(offset, h.LastOffset()+1), next
		}
		if offset == from {
			break // nothing more to read below end
		}
	}
	return offset, nil
}
