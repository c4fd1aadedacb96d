package protocol

import (
	"reflect"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// EachErrorCode calls fn with every error code a response carries, top
// level and per resource, as Kafka's errorCounts does for its ErrorsPerSec
// metric. Produce and Fetch, the hot path, are walked directly; the rest
// by reflection over kmsg's fields named ErrorCode.
func EachErrorCode(resp kmsg.Response, fn func(ErrorCode)) {
	switch r := resp.(type) {
	case nil:
	case *kmsg.ProduceResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(ErrorCode(r.Topics[i].Partitions[j].ErrorCode))
			}
		}
	case *kmsg.FetchResponse:
		fn(ErrorCode(r.ErrorCode))
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				fn(ErrorCode(r.Topics[i].Partitions[j].ErrorCode))
			}
		}
	default:
		walkErrorCodes(reflect.ValueOf(resp), fn)
	}
}

var int16Type = reflect.TypeFor[int16]()

func walkErrorCodes(v reflect.Value, fn func(ErrorCode)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkErrorCodes(v.Elem(), fn)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			return // bytes, strings, ids: no error codes inside
		}
		for i := range v.Len() {
			walkErrorCodes(v.Index(i), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			switch {
			case f.Name == "ErrorCode" && f.Type == int16Type:
				fn(ErrorCode(v.Field(i).Int()))
			case f.IsExported():
				walkErrorCodes(v.Field(i), fn)
			}
		}
	}
}
