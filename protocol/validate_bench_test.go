package protocol

import (
	"hash/crc32"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// benchBatch is a producer's batch of n records of size bytes each.
func benchBatch(n, size int) []byte {
	values := make([]string, n)
	for i := range values {
		values[i] = strings.Repeat(string(rune('a'+i%26)), size)
	}
	return prototest.Plain(1_700_000_000_000, values...).Encode()
}

// benchValidate counts MB/s of records as produced (uncompressed), so
// that the codecs compare with each other and with the produce path.
func benchValidate(b *testing.B, batch []byte, produced int) {
	b.SetBytes(int64(produced))
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateBatch(batch, plainTopic); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkValidate: a batch of 16 records of 1 KiB, uncompressed and with
// each codec.
func BenchmarkValidate(b *testing.B) {
	batch := benchBatch(16, 1024)
	b.Run("none", func(b *testing.B) { benchValidate(b, batch, len(batch)) })
	for _, c := range []struct {
		name  string
		codec int
	}{{"gzip", CompressionGzip}, {"snappy", CompressionSnappy}, {"lz4", CompressionLZ4}, {"zstd", CompressionZstd}} {
		cb := compressBatch(b, batch, c.codec)
		b.Run(c.name, func(b *testing.B) { benchValidate(b, cb, len(batch)) })
	}
}

// BenchmarkVerifyCRC is the check every append made before validation,
// the baseline the cost of validation compares with.
func BenchmarkVerifyCRC(b *testing.B) {
	batch := benchBatch(16, 1024)
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		crc32.Checksum(batch[crcStart:], castagnoli)
	}
}
