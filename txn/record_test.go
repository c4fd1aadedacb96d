package txn

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	klog "github.com/gokafka/gokafka/log"
)

func sample() *Metadata {
	return &Metadata{TransactionalID: "tx-1", ProducerID: 4242, PrevProducerID: 17, ProducerEpoch: 3,
		LastProducerEpoch: noEpoch, TimeoutMs: 60000, State: Ongoing,
		Partitions: map[klog.TopicPartition]struct{}{tp("b", 1): {}, tp("a", 2): {}, tp("a", 0): {}},
		StartMs:    1_700_000_000_000, LastUpdateMs: 1_700_000_000_500, TV2: true}
}

func TestRecordRoundTrip(t *testing.T) {
	m := sample()
	id, got, err := DecodeRecord(EncodeKey(m.TransactionalID), EncodeValue(m))
	if err != nil || id != m.TransactionalID {
		t.Fatalf("%q %v", id, err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, m)
	}
	if id, got, err := DecodeRecord(EncodeKey("tx-1"), nil); id != "tx-1" || got != nil || err != nil {
		t.Fatalf("tombstone: %q %+v %v", id, got, err)
	}
}

// Kafka's layouts, written out by hand: the key is version 0 and the id;
// a version 0 value has no tagged fields and plain (non-compact) arrays.
func TestRecordGoldenBytes(t *testing.T) {
	if got, want := EncodeKey("tx"), []byte{0, 0, 0, 2, 't', 'x'}; !bytes.Equal(got, want) {
		t.Fatalf("key % x, want % x", got, want)
	}
	var v []byte
	v = binary.BigEndian.AppendUint16(v, 0)     // version
	v = binary.BigEndian.AppendUint64(v, 4242)  // producer id
	v = binary.BigEndian.AppendUint16(v, 3)     // epoch
	v = binary.BigEndian.AppendUint32(v, 60000) // timeout
	v = append(v, 2)                            // PrepareCommit
	v = binary.BigEndian.AppendUint32(v, 1)     // one topic
	v = append(v, 0, 1, 'a')
	v = binary.BigEndian.AppendUint32(v, 2) // two partitions
	v = binary.BigEndian.AppendUint32(v, 0)
	v = binary.BigEndian.AppendUint32(v, 2)
	v = binary.BigEndian.AppendUint64(v, 1_700_000_000_500) // last update
	v = binary.BigEndian.AppendUint64(v, 1_700_000_000_000) // start
	_, m, err := DecodeRecord(EncodeKey("tx"), v)
	if err != nil {
		t.Fatal(err)
	}
	want := &Metadata{TransactionalID: "tx", ProducerID: 4242, PrevProducerID: -1, ProducerEpoch: 3, LastProducerEpoch: noEpoch,
		TimeoutMs: 60000, State: PrepareCommit, Partitions: map[klog.TopicPartition]struct{}{tp("a", 0): {}, tp("a", 2): {}},
		StartMs: 1_700_000_000_000, LastUpdateMs: 1_700_000_000_500}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("version 0 value\n got %+v\nwant %+v", m, want)
	}
	// Version 1 is the same fields, compact, then tags: our writer's
	// fixed prefix matches.
	w := EncodeValue(want)
	if !bytes.Equal(w[:17], append([]byte{0, 1}, v[2:17]...)) {
		t.Fatalf("version 1 prefix % x, want % x", w[:17], v[:17])
	}
}

func TestRecordHostile(t *testing.T) {
	good := EncodeValue(sample())
	key := EncodeKey("tx-1")
	cases := map[string]struct{ key, value []byte }{
		"empty key":         {nil, good},
		"short key":         {[]byte{0}, good},
		"group key":         {[]byte{0, 2, 0, 1, 'g'}, good},
		"key length beyond": {[]byte{0, 0, 0x7f, 0xff, 'x'}, good},
		"empty id":          {[]byte{0, 0, 0, 0}, good},
		"empty value":       {key, []byte{}},
		"truncated value":   {key, good[:len(good)-3]},
		"value version 9":   {key, append([]byte{0, 9}, good[2:]...)},
		"huge topic count":  {key, append(append([]byte{0, 0}, good[2:17]...), 0x7f, 0xff, 0xff, 0xff)},
		"negative producer": {key, append(append([]byte{0, 1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), good[10:]...)},
		"state 99":          {key, append(append(append([]byte(nil), good[:16]...), 99), good[17:]...)},
	}
	for name, c := range cases {
		if _, m, err := DecodeRecord(c.key, c.value); err == nil {
			t.Errorf("%s: decoded %+v", name, m)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeKey("tx-1"), EncodeValue(sample()))
	f.Add(EncodeKey("tx"), []byte(nil))
	f.Add([]byte{0, 0, 0, 1, 'x'}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		id, m, err := DecodeRecord(key, value)
		if err != nil || m == nil {
			return
		}
		// What decodes re-encodes to the same state.
		id2, m2, err := DecodeRecord(EncodeKey(id), EncodeValue(m))
		if err != nil || id2 != id || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, m2, err)
		}
	})
}
