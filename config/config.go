package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is a key's type, numbered as DescribeConfigs' ConfigType field.
type Type int8

const (
	Boolean Type = 1
	String  Type = 2
	Int     Type = 3
	Short   Type = 4
	Long    Type = 5
	Double  Type = 6
	List    Type = 7
	// Password values are never shown: DescribeConfigs answers null with
	// IsSensitive set.
	Password Type = 9
)

// numberTypes names the numeric types as Kafka's ConfigDef.Type does in
// its parse errors.
var numberTypes = map[Type]string{Int: "INT", Short: "SHORT", Long: "LONG", Double: "DOUBLE"}

// Scope says where a key is set.
type Scope int8

const (
	// Static keys are read from server.properties at start only.
	Static Scope = iota
	// Dynamic broker keys may also be set at run time with AlterConfigs,
	// per broker or as the cluster-wide default.
	Dynamic
	// TopicScope keys are set per topic.
	TopicScope
)

// Key is one config key.
type Key struct {
	Name  string
	Scope Scope
	Type  Type
	// Default is the value when nothing sets the key, as DescribeConfigs
	// shows it; "" with NoDefault means none (null).
	Default   string
	NoDefault bool
	// Min and Max bound Int, Short, Long and Double values.
	Min, Max float64
	// OneOf lists the values a String may take, or the items of a List.
	OneOf []string
	// Topic is, for a broker key, the topic key whose default it sets;
	// Scale turns its unit into the topic key's (hours into ms).
	Topic string
	Scale int64
	Doc   string
}

// ReadOnly reports whether AlterConfigs may not change a broker key.
func (k *Key) ReadOnly() bool { return k.Scope == Static }

// Check reports whether v is a valid value of k, as Kafka's ConfigDef
// parses and validates it.
func (k *Key) Check(v string) error {
	v = strings.TrimSpace(v)
	switch k.Type {
	case Boolean:
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return errors.New("Expected value to be either true or false")
		}
	case Int, Short, Long:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("Not a number of type %s", numberTypes[k.Type])
		}
		return k.inRange(float64(n), strconv.FormatFloat(k.Min, 'f', -1, 64), strconv.FormatFloat(k.Max, 'f', -1, 64))
	case Double:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return fmt.Errorf("Not a number of type %s", numberTypes[k.Type])
		}
		return k.inRange(f, strconv.FormatFloat(k.Min, 'g', -1, 64), strconv.FormatFloat(k.Max, 'g', -1, 64))
	case String:
		if len(k.OneOf) > 0 && !slices.Contains(k.OneOf, v) {
			return fmt.Errorf("String must be one of: %s", strings.Join(k.OneOf, ", "))
		}
	case List:
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			if len(k.OneOf) > 0 && item != "" && !slices.Contains(k.OneOf, item) {
				return fmt.Errorf("String must be one of: %s", strings.Join(k.OneOf, ", "))
			}
		}
	}
	return nil
}

func (k *Key) inRange(f float64, min, max string) error {
	switch {
	case f < k.Min:
		return fmt.Errorf("Value must be at least %s", min)
	case f > k.Max:
		return fmt.Errorf("Value must be no more than %s", max)
	}
	return nil
}

var (
	brokerIndex = index(Broker)
	topicIndex  = index(Topics)
)

func index(keys []Key) map[string]*Key {
	m := make(map[string]*Key, len(keys))
	for i := range keys {
		m[keys[i].Name] = &keys[i]
	}
	return m
}

// BrokerKey returns the broker key named name, or nil.
func BrokerKey(name string) *Key { return brokerIndex[name] }

// TopicKey returns the topic key named name, or nil.
func TopicKey(name string) *Key { return topicIndex[name] }

// Synonyms returns the broker keys that set the default of a topic key, in
// order of precedence: the first one set wins. The slice is shared.
func Synonyms(topicKey string) []*Key { return synonyms[topicKey] }

var synonyms = func() map[string][]*Key {
	m := map[string][]*Key{}
	for i := range Broker {
		if t := Broker[i].Topic; t != "" {
			m[t] = append(m[t], &Broker[i])
		}
	}
	return m
}()

// BrokerSynonyms returns a broker key and the coarser keys it wins over
// (log.retention.ms, .minutes, .hours), in order of precedence, as
// DescribeConfigs lists a broker key's synonyms.
func BrokerSynonyms(name string) []*Key {
	k := BrokerKey(name)
	switch {
	case k == nil:
		return nil
	case k.Topic == "":
		return []*Key{k}
	}
	syn := Synonyms(k.Topic)
	return syn[slices.Index(syn, k):]
}
