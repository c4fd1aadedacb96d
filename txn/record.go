package txn

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	klog "github.com/gokafka/gokafka/log"
)

// valueVersion is the TransactionLogValue version written: 1, flexible,
// whose tagged fields carry the previous producer id and the client's
// transaction version (KIP-890) that version 0 has no room for.
const valueVersion = 1

// EncodeKey is the TransactionLogKey of id.
func EncodeKey(id string) []byte {
	k := kmsg.TxnMetadataKey{Version: 0, TransactionalID: id}
	return k.AppendTo(nil)
}

// EncodeValue is the TransactionLogValue of m.
func EncodeValue(m *Metadata) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	v.ProducerID, v.ProducerEpoch = m.ProducerID, m.ProducerEpoch
	v.PreviousProducerID = m.PrevProducerID
	v.TimeoutMillis = m.TimeoutMs
	v.State = kmsg.TransactionState(m.State)
	v.LastUpdateTimestamp, v.StartTimestamp = m.LastUpdateMs, m.StartMs
	if m.TV2 {
		v.ClientTransactionVersion = 2
	}
	var topic *kmsg.TxnMetadataValueTopic
	for _, tp := range m.SortedPartitions() {
		if topic == nil || topic.Topic != tp.Topic {
			v.Topics = append(v.Topics, kmsg.TxnMetadataValueTopic{Topic: tp.Topic})
			topic = &v.Topics[len(v.Topics)-1]
		}
		topic.Partitions = append(topic.Partitions, tp.Partition)
	}
	return v.AppendTo(nil)
}

// errNotTxnRecord marks a key of another kind; the topic holds only
// TransactionLogKey version 0, so one is skipped with a log line.
var errNotTxnRecord = errors.New("not a transaction log key")

// DecodeRecord reads one record of __transaction_state: the id, and its
// metadata or nil for a tombstone. The bytes come from disk; anything that
// does not parse as Kafka's layout, or holds values no coordinator writes,
// is an error, never a panic.
func DecodeRecord(key, value []byte) (string, *Metadata, error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", nil, fmt.Errorf("transaction log key: %w", err)
	}
	if k.Version != 0 {
		return "", nil, fmt.Errorf("%w: version %d", errNotTxnRecord, k.Version)
	}
	if k.TransactionalID == "" {
		return "", nil, errors.New("transaction log key: empty transactional id")
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return "", nil, fmt.Errorf("transaction log value of %q: %w", k.TransactionalID, err)
	}
	if err := checkValue(&v); err != nil {
		return "", nil, fmt.Errorf("transaction log value of %q: %w", k.TransactionalID, err)
	}
	m := &Metadata{
		TransactionalID:   k.TransactionalID,
		ProducerID:        v.ProducerID,
		PrevProducerID:    v.PreviousProducerID,
		ProducerEpoch:     v.ProducerEpoch,
		LastProducerEpoch: noEpoch,
		TimeoutMs:         v.TimeoutMillis,
		State:             State(v.State),
		Partitions:        map[klog.TopicPartition]struct{}{},
		StartMs:           v.StartTimestamp,
		LastUpdateMs:      v.LastUpdateTimestamp,
		TV2:               v.ClientTransactionVersion >= 2,
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			m.Partitions[klog.TopicPartition{Topic: t.Topic, Partition: p}] = struct{}{}
		}
	}
	return k.TransactionalID, m, nil
}

func checkValue(v *kmsg.TxnMetadataValue) error {
	switch {
	case v.Version < 0 || v.Version > 1:
		return fmt.Errorf("version %d", v.Version)
	case v.ProducerID < 0:
		return fmt.Errorf("producer id %d", v.ProducerID)
	case v.ProducerEpoch < noEpoch:
		return fmt.Errorf("producer epoch %d", v.ProducerEpoch)
	case v.TimeoutMillis <= 0:
		return fmt.Errorf("timeout %d ms", v.TimeoutMillis)
	case v.State < 0 || v.State > kmsg.TransactionState(PrepareEpochFence):
		return fmt.Errorf("state %d", v.State)
	}
	for _, t := range v.Topics {
		if t.Topic == "" {
			return errors.New("empty topic name")
		}
		for _, p := range t.Partitions {
			if p < 0 {
				return fmt.Errorf("partition %s-%d", t.Topic, p)
			}
		}
	}
	return nil
}
