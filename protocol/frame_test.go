package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
)

// sized returns body behind a 4-byte size prefix of the given value, which
// need not match len(body): that is how short and lying frames are built.
func sized(size int32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(size)), body...)
}

// countingReader counts the bytes handed out, so a test can tell that
// ReadFrame stopped after the size prefix.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadFrame(t *testing.T) {
	body := []byte{0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff} // ApiVersions v3, corr 7, null client id
	tests := []struct {
		name     string
		in       []byte
		max      int32
		want     []byte
		wantErr  error // matched with errors.Is; nil means success
		anyErr   bool  // an error without a sentinel to match
		consumed int   // bytes ReadFrame may take from the stream
	}{
		{name: "whole frame", in: sized(10, body), max: 100, want: body, consumed: 14},
		{name: "exactly max", in: sized(10, body), max: 10, want: body, consumed: 14},
		{name: "leaves the next frame", in: append(sized(10, body), sized(10, body)...), max: 100, want: body, consumed: 14},
		{name: "smallest header", in: sized(8, body[:8]), max: 100, want: body[:8], consumed: 12},
		{name: "one over max", in: sized(11, append(body, 0)), max: 10, wantErr: ErrFrameTooLarge, consumed: 4},
		{name: "huge size, no body", in: sized(1<<30, nil), max: 100 << 20, wantErr: ErrFrameTooLarge, consumed: 4},
		{name: "max int32 size", in: sized(1<<31-1, nil), max: 100 << 20, wantErr: ErrFrameTooLarge, consumed: 4},
		{name: "negative size", in: sized(-1, body), max: 100, wantErr: ErrFrameTooLarge, consumed: 4},
		{name: "min int32 size", in: sized(-1<<31, body), max: 100, wantErr: ErrFrameTooLarge, consumed: 4},
		{name: "zero size", in: sized(0, body), max: 100, anyErr: true, consumed: 4},
		{name: "shorter than a header", in: sized(7, body), max: 100, anyErr: true, consumed: 4},
		{name: "empty stream", in: nil, max: 100, wantErr: io.EOF},
		{name: "short size prefix", in: []byte{0, 0}, max: 100, wantErr: io.ErrUnexpectedEOF, consumed: 2},
		{name: "truncated body", in: sized(10, body[:6]), max: 100, wantErr: io.ErrUnexpectedEOF, consumed: 10},
		{name: "size prefix only", in: sized(10, nil), max: 100, wantErr: io.ErrUnexpectedEOF, consumed: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(tt.in)}
			got, err := ReadFrame(r, tt.max, nil)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Fatalf("got frame %x, want an error", got)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			case !bytes.Equal(got, tt.want):
				t.Fatalf("frame = %x, want %x", got, tt.want)
			}
			if r.n > tt.consumed {
				t.Errorf("read %d bytes from the stream, want at most %d", r.n, tt.consumed)
			}
		})
	}
}

// A frame that fits in the caller's buffer must reuse it: the connection
// read loop depends on that to avoid an allocation per request.
func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	got, err := ReadFrame(bytes.NewReader(sized(10, make([]byte, 10))), 100, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("ReadFrame allocated although the buffer was large enough")
	}
	got, err = ReadFrame(bytes.NewReader(sized(100, make([]byte, 100))), 100, buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Errorf("len = %d, want 100", len(got))
	}
}

// The size check must come before the allocation: a peer announcing 1 GiB
// must not make us allocate it, even when it never sends the body.
func TestReadFrameDoesNotAllocateBeforeCheck(t *testing.T) {
	in := sized(1<<30, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := ReadFrame(bytes.NewReader(in), 1<<20, nil); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("err = %v, want ErrFrameTooLarge", err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("rejecting 10 oversized frames allocated %d bytes", grew)
	}
}

func TestAppendFrameSize(t *testing.T) {
	b := []byte{9, 9} // bytes before the frame are left alone
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = append(b, "hello"...)
	AppendFrameSize(b, start)
	want := []byte{9, 9, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x, want %x", b, want)
	}
	got, err := ReadFrame(bytes.NewReader(b[start:]), 100, nil)
	if err == nil {
		t.Fatalf("5-byte frame accepted as a request: %x", got)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(sized(10, []byte{0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff}), int32(100))
	f.Add(sized(1<<30, nil), int32(1<<20))
	f.Add(sized(-1, nil), int32(1<<20))
	f.Add(sized(8, []byte{1, 2, 3}), int32(1<<20))
	f.Add([]byte{0, 0}, int32(10))
	f.Add([]byte{}, int32(0))
	f.Fuzz(func(t *testing.T, in []byte, max int32) {
		if max > 1<<20 {
			max = 1 << 20 // keep the fuzzer from asking for large buffers
		}
		r := &countingReader{r: bytes.NewReader(in)}
		got, err := ReadFrame(r, max, nil)
		if err != nil {
			return
		}
		if len(in) < 4 {
			t.Fatalf("frame %x from %d input bytes", got, len(in))
		}
		size := int32(binary.BigEndian.Uint32(in))
		if size < 8 || size > max || int(size) != len(got) {
			t.Fatalf("accepted size %d (max %d) as a %d-byte frame", size, max, len(got))
		}
		if !bytes.Equal(got, in[4:4+size]) {
			t.Fatalf("frame %x differs from input %x", got, in[4:4+size])
		}
		if r.n != 4+int(size) {
			t.Fatalf("consumed %d bytes for a %d-byte frame", r.n, size)
		}
		// A recycled buffer holds the last frame's bytes: the next frame
		// read into it must still be exactly what was sent.
		want := bytes.Clone(got)
		RecycleFrame(got)
		again, err := ReadFrame(bytes.NewReader(in), max, nil)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("frame read after recycling = %x, %v; want %x", again, err, want)
		}
	})
}

// A peer that announces a large frame and sends only part of it must cost
// about what it sent (or the first chunk), not what it announced.
func TestReadFrameGrowsAsBytesArrive(t *testing.T) {
	in := sized(100<<20, make([]byte, 100<<10)) // 100 MiB announced, 100 KiB sent
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(in), 100<<20, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	// The first chunk, and slack for what the runtime and the race
	// detector allocate meanwhile: far below the 100 MiB announced.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2*frameChunk {
		t.Errorf("a 100 KiB partial frame of an announced 100 MiB allocated %d bytes", grew)
	}
}

// A frame larger than the first chunk is read whole, across several reads.
func TestReadFrameAcrossChunks(t *testing.T) {
	body := make([]byte, 3*frameChunk+5)
	for i := range body {
		body[i] = byte(i)
	}
	got, err := ReadFrame(halfReader{bytes.NewReader(sized(int32(len(body)), body))}, 4*frameChunk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatal("frame read across chunks differs from what was sent")
	}
	// Grown to its pool's power of two, so that once recycled it serves
	// the next frame of this size.
	if cap(got) != 4*frameChunk {
		t.Errorf("cap = %d, want %d", cap(got), 4*frameChunk)
	}
}

// A recycled frame's buffer serves a later frame that fits it, and only
// one that fits it.
func TestRecycleFrame(t *testing.T) {
	body := func(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }
	read := func(frame []byte) []byte {
		t.Helper()
		got, err := ReadFrame(bytes.NewReader(frame), 64<<20, nil)
		if err != nil || !bytes.Equal(got, frame[4:]) {
			t.Fatalf("ReadFrame of %d bytes: err %v, equal %v", len(frame)-4, err, bytes.Equal(got, frame[4:]))
		}
		return got
	}
	// The pool drops what it holds at a second GC, and at random under
	// the race detector, so a reuse is looked for over a few tries, with
	// the frames built beforehand and the collector run only between
	// tries: allocating 12 MiB between a put and a get collected twice.
	five, six := body(5<<20, 1), body(6<<20, 2)
	frame5, frame6 := sized(int32(len(five)), five), sized(int32(len(six)), six)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	reused := false
	for range 20 {
		runtime.GC()
		first := read(frame5)
		RecycleFrame(first)
		second := read(frame6) // same power of two: 8 MiB
		if reused = &second[0] == &first[0]; reused {
			RecycleFrame(second)
			break
		}
	}
	if !reused {
		t.Error("a recycled 8 MiB buffer was never reused for a 6 MiB frame")
	}
	// A buffer too small for its class's largest frame is filed one class
	// down, so it is never handed out for a frame it cannot hold.
	small := make([]byte, 5000) // holds 4096 bytes (class 12), not 8192 (class 13)
	for range 20 {
		RecycleFrame(small)
		b := body(8192, 3)
		if got := read(sized(int32(len(b)), b)); &got[0] == &small[0] {
			t.Fatal("a 5000-byte buffer was handed out for an 8192-byte frame")
		}
	}
}

// BenchmarkReadFrameBody reads a producer's request of 6 partitions of
// 1 MiB batches, as the connection reader does: into a fresh buffer (the
// pool misses), or into a recycled one (the request was a Produce).
func BenchmarkReadFrameBody(b *testing.B) {
	const size = 6 << 20
	in := make([]byte, size)
	for _, recycle := range []bool{false, true} {
		name := map[bool]string{false: "fresh", true: "recycled"}[recycle]
		b.Run(name, func(b *testing.B) {
			runtime.GC() // twice: empties every sync.Pool
			runtime.GC()
			r := bytes.NewReader(in)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(in)
				frame, err := ReadFrameBody(r, size, nil)
				if err != nil {
					b.Fatal(err)
				}
				if recycle {
					RecycleFrame(frame)
				}
			}
		})
	}
}

// halfReader hands out at most half of what is asked at a time, as a slow
// socket does.
type halfReader struct{ r io.Reader }

func (h halfReader) Read(p []byte) (int, error) { return h.r.Read(p[:max(len(p)/2, 1)]) }
