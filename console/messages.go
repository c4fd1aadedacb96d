package console

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxShown bounds the bytes of one key, value or header shown: a page of
// 100 one-megabyte records would be 100 MB of HTML.
const maxShown = 8 << 10

type recordRow struct {
	Offset    int64
	Timestamp string
	Key       shown
	Value     shown
	Headers   []headerRow
}

type headerRow struct {
	Key   string
	Value shown
}

// shown is bytes as the page prints them, in the chosen format.
type shown struct {
	Text      string
	Null      bool
	Truncated int // the full length when cut, else 0
	NotJSON   bool
}

type messagesView struct {
	Query   browseQuery
	Asked   bool // the form was submitted
	Records []recordRow
	Start   int64 // the partition's log start and end
	End     int64
}

// messagesPage reads up to N records of one partition from an offset, a
// timestamp or (neither given) the last N, with a consumer of the
// session's own identity that lives for the request.
func (c *Console) messagesPage(w http.ResponseWriter, r *http.Request, s *session) {
	qv := r.URL.Query()
	if qv.Get("topic") == "" {
		c.render(w, r, http.StatusOK, "messages", s, messagesView{Query: browseQuery{N: 20, Offset: -1, Timestamp: -1, Format: "text"}}, "")
		return
	}
	q, err := parseBrowse(qv)
	v := messagesView{Query: q, Asked: true}
	if err != nil {
		c.fail(w, r, "messages", s, v, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	from, err := c.startOffset(ctx, s, &v)
	if err == nil && from < v.End {
		v.Records, err = browse(ctx, s.opts, q, from, v.End)
	}
	if err != nil {
		c.fail(w, r, "messages", s, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "messages", s, v, "")
}

// startOffset finds the partition's bounds and where to start reading.
func (c *Console) startOffset(ctx context.Context, s *session, v *messagesView) (int64, error) {
	q := v.Query
	starts, err := s.adm.ListStartOffsets(ctx, q.Topic)
	if err != nil {
		return 0, err
	}
	ends, err := s.adm.ListEndOffsets(ctx, q.Topic)
	if err != nil {
		return 0, err
	}
	so, ok1 := starts.Lookup(q.Topic, q.Partition)
	eo, ok2 := ends.Lookup(q.Topic, q.Partition)
	if !ok1 || !ok2 {
		return 0, inputErr("topic %s has no partition %d", q.Topic, q.Partition)
	}
	if so.Err != nil {
		return 0, so.Err
	}
	if eo.Err != nil {
		return 0, eo.Err
	}
	v.Start, v.End = so.Offset, eo.Offset
	switch {
	case q.Offset >= 0:
		return max(q.Offset, v.Start), nil
	case q.Timestamp >= 0:
		at, err := s.adm.ListOffsetsAfterMilli(ctx, q.Timestamp, q.Topic)
		if err != nil {
			return 0, err
		}
		o, ok := at.Lookup(q.Topic, q.Partition)
		if !ok || o.Err != nil || o.Offset < 0 {
			return v.End, nil // nothing at or after the timestamp
		}
		return max(o.Offset, v.Start), nil
	default:
		return max(v.End-int64(q.N), v.Start), nil
	}
}

// browse consumes [from, end) of the partition, at most q.N records.
func browse(ctx context.Context, opts []kgo.Opt, q browseQuery, from, end int64) ([]recordRow, error) {
	opts = append(opts[:len(opts):len(opts)],
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{q.Topic: {q.Partition: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxBytes(8<<20), kgo.FetchMaxPartitionBytes(8<<20), kgo.FetchMaxWait(500*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var rows []recordRow
	for len(rows) < q.N {
		fs := cl.PollRecords(ctx, q.N-len(rows))
		if err := fs.Err0(); err != nil && len(rows) == 0 {
			return nil, err
		} else if err != nil {
			break // show what was read
		}
		last := int64(-1)
		fs.EachRecord(func(rec *kgo.Record) {
			if len(rows) < q.N {
				rows = append(rows, row(rec, q.Format))
			}
			last = rec.Offset
		})
		if last+1 >= end || ctx.Err() != nil {
			break
		}
	}
	return rows, nil
}

func row(rec *kgo.Record, format string) recordRow {
	rr := recordRow{Offset: rec.Offset, Timestamp: rec.Timestamp.UTC().Format(time.RFC3339Nano),
		Key: show(rec.Key, format), Value: show(rec.Value, format)}
	for _, h := range rec.Headers {
		rr.Headers = append(rr.Headers, headerRow{Key: strings.ToValidUTF8(h.Key, "\uFFFD"), Value: show(h.Value, format)})
	}
	return rr
}

// show renders b as text (invalid UTF-8 replaced), indented JSON (text
// when it is not JSON) or a hex dump, cut at maxShown bytes. The page's
// template escapes the result; nothing here is markup.
func show(b []byte, format string) shown {
	if b == nil {
		return shown{Null: true}
	}
	var s shown
	if len(b) > maxShown {
		s.Truncated, b = len(b), b[:maxShown]
	}
	switch format {
	case "hex":
		s.Text = hex.Dump(b)
	case "json":
		var buf bytes.Buffer
		if s.Truncated == 0 && json.Indent(&buf, b, "", "  ") == nil {
			s.Text = buf.String()
			break
		}
		s.NotJSON = true
		fallthrough
	default:
		s.Text = strings.ToValidUTF8(string(b), "\uFFFD")
		if !utf8.ValidString(string(b)) {
			s.Text += fmt.Sprintf(" (not UTF-8; %d bytes)", len(b))
		}
	}
	return s
}
