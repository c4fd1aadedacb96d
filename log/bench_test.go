package log

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gokafka/gokafka/protocol/prototest"
)

// batchOf returns a batch of n records of size bytes each.
func batchOf(n, size int) []byte {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = strings.Repeat("v", size)
	}
	return prototest.Plain(1_700_000_000_000, vals...).Encode()
}

// BenchmarkAppend measures the produce path below the network: validate
// the batch, assign offsets, write it and index it.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("10x%dB", size), func(b *testing.B) {
			l := openTest(b, b.TempDir(), DefaultConfig(), false)
			defer l.Close()
			batch := batchOf(10, size)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Append(batch, AppendOptions{LeaderEpoch: 1, AssignOffsets: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead measures the fetch path below the network: locate the
// batch through the index and read up to 1 MiB of whole batches.
func BenchmarkRead(b *testing.B) {
	l := openTest(b, b.TempDir(), DefaultConfig(), false)
	defer l.Close()
	batch := batchOf(10, 1024)
	const batches = 5000
	for range batches {
		mustAppend(b, l, batch)
	}
	end := l.LogEndOffset()
	b.ReportAllocs()
	var bytes int64
	i := int64(0)
	for b.Loop() {
		res, err := l.Read((i*7919)%end, 1<<20, end, true)
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(res.Records))
		i++
	}
	b.SetBytes(bytes / int64(max(i, 1)))
}
