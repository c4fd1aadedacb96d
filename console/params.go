package console

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gokafka/gokafka/protocol"
)

// Every value a request carries passes through one of these before it is
// used: names by Kafka's rules, numbers within bounds. They read url.Values
// only, so the fuzz target drives them without a cluster.

const (
	pageSize          = 50   // rows of a list page: topics, groups
	partitionPageSize = 100  // partitions of one topic shown at once
	maxPage           = 1e6  // far past any real list; bounds the arithmetic
	maxBrowse         = 100  // records the message browser shows at once
	maxGroupIDLen     = 255  // gokafka's bound; Kafka sets none below the request size
	maxFilterLen      = 249  // a filter longer than any topic name matches nothing
	maxConfigValueLen = 4096 // a config value that long is a mistake or an attack
	maxPartitions     = 1e5  // bound on a partition count or index typed in a form
	maxReplication    = 32767
)

// errInput is a request's fault: answered 400 with its message.
var errInput = errors.New("bad request")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInput, fmt.Sprintf(format, args...))
}

// topicName is a required topic parameter, valid by protocol.ValidTopicName.
func topicName(v url.Values, key string) (string, error) {
	name := v.Get(key)
	if err := protocol.ValidTopicName(name); err != nil {
		return "", inputErr("%s: %v", key, err)
	}
	return name, nil
}

// groupID is a required group id: non-empty, bounded, printable UTF-8, so
// that it shows as itself in a page and a log line.
func groupID(v url.Values, key string) (string, error) {
	id := v.Get(key)
	switch {
	case id == "":
		return "", inputErr("%s is empty", key)
	case len(id) > maxGroupIDLen:
		return "", inputErr("%s is longer than %d bytes", key, maxGroupIDLen)
	case !printable(id):
		return "", inputErr("%s has control characters or is not UTF-8", key)
	}
	return id, nil
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// number reads key as an integer in [lo, hi]; absent gives def.
func number(v url.Values, key string, lo, hi, def int64) (int64, error) {
	s := v.Get(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, inputErr("%s must be a whole number from %d to %d", key, lo, hi)
	}
	return n, nil
}

// oneOf reads key as one of allowed; absent gives the first.
func oneOf(v url.Values, key string, allowed ...string) (string, error) {
	s := v.Get(key)
	if s == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", inputErr("%s must be one of %s", key, strings.Join(allowed, ", "))
}

// listQuery is a list page's filter (a substring of the name) and page.
type listQuery struct {
	Filter string
	Page   int
}

func parseList(v url.Values) (listQuery, error) {
	f := v.Get("filter")
	if len(f) > maxFilterLen || !printable(f) {
		return listQuery{}, inputErr("filter must be printable and at most %d bytes", maxFilterLen)
	}
	p, err := number(v, "page", 1, maxPage, 1)
	return listQuery{Filter: f, Page: int(p)}, err
}

// browseQuery is the message browser's form: where to start and how to show.
type browseQuery struct {
	Topic     string
	Partition int32
	Offset    int64 // -1: start at Timestamp, or at the last N records when that is -1 too
	Timestamp int64 // ms since the epoch; -1 when Offset is used
	N         int
	Format    string // text, json or hex
}

func parseBrowse(v url.Values) (browseQuery, error) {
	var q browseQuery
	var err error
	if q.Topic, err = topicName(v, "topic"); err != nil {
		return q, err
	}
	p, err := number(v, "partition", 0, maxPartitions, 0)
	if err != nil {
		return q, err
	}
	q.Partition = int32(p)
	if q.Offset, err = number(v, "offset", -1, 1<<62, -1); err != nil {
		return q, err
	}
	if q.Timestamp, err = number(v, "timestamp", -1, 1<<52, -1); err != nil {
		return q, err
	}
	if q.Offset >= 0 && q.Timestamp >= 0 {
		return q, inputErr("give an offset or a timestamp, not both")
	}
	n, err := number(v, "n", 1, maxBrowse, 20)
	if err != nil {
		return q, err
	}
	q.N = int(n)
	q.Format, err = oneOf(v, "format", "text", "json", "hex")
	return q, err
}

// createQuery is the create-topic form.
type createQuery struct {
	Topic       string
	Partitions  int32 // -1: the broker's num.partitions
	Replication int16 // -1: the broker's default.replication.factor
}

func parseCreate(v url.Values) (createQuery, error) {
	var q createQuery
	var err error
	if q.Topic, err = topicName(v, "topic"); err != nil {
		return q, err
	}
	p, err := number(v, "partitions", -1, maxPartitions, -1)
	if err != nil || p == 0 {
		return q, errors.Join(err, zeroErr(p, "partitions"))
	}
	r, err := number(v, "replication", -1, maxReplication, -1)
	if err != nil || r == 0 {
		return q, errors.Join(err, zeroErr(r, "replication"))
	}
	q.Partitions, q.Replication = int32(p), int16(r)
	return q, nil
}

func zeroErr(n int64, key string) error {
	if n == 0 {
		return inputErr("%s must not be 0", key)
	}
	return nil
}

// configQuery sets (or, with an empty value and Delete, removes) one topic config.
type configQuery struct {
	Topic, Key, Value string
	Delete            bool
}

func parseConfig(v url.Values) (configQuery, error) {
	var q configQuery
	var err error
	if q.Topic, err = topicName(v, "topic"); err != nil {
		return q, err
	}
	q.Key, q.Value, q.Delete = v.Get("key"), v.Get("value"), v.Get("delete") == "on"
	if q.Key == "" || len(q.Key) > 255 || strings.IndexFunc(q.Key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0 {
		return q, inputErr("key must be a config name such as retention.ms")
	}
	if len(q.Value) > maxConfigValueLen || !printable(q.Value) {
		return q, inputErr("value must be printable and at most %d bytes", maxConfigValueLen)
	}
	return q, nil
}

// resetQuery is the reset-offsets form of a group and one topic.
type resetQuery struct {
	Group, Topic string
	To           string // earliest, latest, offset or timestamp
	Value        int64  // the offset or timestamp
}

func parseReset(v url.Values) (resetQuery, error) {
	var q resetQuery
	var err error
	if q.Group, err = groupID(v, "group"); err != nil {
		return q, err
	}
	if q.Topic, err = topicName(v, "topic"); err != nil {
		return q, err
	}
	if q.To, err = oneOf(v, "to", "earliest", "latest", "offset", "timestamp"); err != nil {
		return q, err
	}
	q.Value, err = number(v, "value", 0, 1<<62, 0)
	return q, err
}
