package kafka

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

func record(value []byte, key []byte, hdrs ...kgo.RecordHeader) *kgo.Record {
	return &kgo.Record{Topic: "logs", Partition: 2, Offset: 41, Key: key, Value: value,
		Timestamp: time.UnixMilli(1700000000123), Headers: hdrs}
}

func TestRecordHeadersLikeFlume(t *testing.T) {
	m := newMapper(defaults())
	ev, err := m.event(record([]byte("body"), []byte("k1")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"timestamp": "1700000000123", "topic": "logs", "partition": "2", "offset": "41", "key": "k1"}
	if !reflect.DeepEqual(ev.Headers, want) || string(ev.Body) != "body" {
		t.Errorf("event = %v %q, want %v", ev.Headers, ev.Body, want)
	}
	// No key: no key header. setTopicHeader false: no topic header; a
	// custom topic header name.
	c := defaults()
	c.SetTopicHeader = false
	ev, _ = newMapper(c).event(record([]byte("b"), nil))
	if _, ok := ev.Headers["key"]; ok {
		t.Errorf("key header without a key: %v", ev.Headers)
	}
	if _, ok := ev.Headers["topic"]; ok {
		t.Errorf("topic header with setTopicHeader=false: %v", ev.Headers)
	}
	c = defaults()
	c.TopicHeader = "kafka_topic"
	ev, _ = newMapper(c).event(record([]byte("b"), nil))
	if ev.Headers["kafka_topic"] != "logs" || ev.Headers["topic"] != "" {
		t.Errorf("topicHeader kafka_topic: %v", ev.Headers)
	}
}

// header.<flume> = <kafka> copies Kafka record headers into event headers,
// overwriting; headers not mapped are not copied.
func TestRecordKafkaHeaderMapping(t *testing.T) {
	c := defaults()
	c.HeaderMap = map[string]string{"trace": "X-Trace", "timestamp": "ts"}
	ev, _ := newMapper(c).event(record([]byte("b"), nil,
		kgo.RecordHeader{Key: "X-Trace", Value: []byte("abc")},
		kgo.RecordHeader{Key: "ts", Value: []byte("5")},
		kgo.RecordHeader{Key: "other", Value: []byte("x")}))
	if ev.Headers["trace"] != "abc" || ev.Headers["timestamp"] != "5" {
		t.Errorf("mapped headers not copied: %v", ev.Headers)
	}
	if _, ok := ev.Headers["other"]; ok {
		t.Errorf("unmapped Kafka header copied: %v", ev.Headers)
	}
}

// With the Flume event format, the event's own headers stay (timestamp,
// topic, partition, offset are only added when absent); key overwrites.
func TestRecordFlumeEventFormatKeepsHeaders(t *testing.T) {
	c := defaults()
	c.FlumeEventFormat = true
	in := &sluice.Event{Headers: map[string]string{"host": "web1", "timestamp": "42", "topic": "orig", "key": "old"}, Body: []byte("hello")}
	ev, err := newMapper(c).event(record(kafkaclient.EncodeFlumeEvent(nil, in), []byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"host": "web1", "timestamp": "42", "topic": "orig", "partition": "2", "offset": "41", "key": "k"}
	if !reflect.DeepEqual(ev.Headers, want) || string(ev.Body) != "hello" {
		t.Errorf("event = %v %q, want %v hello", ev.Headers, ev.Body, want)
	}
}

// A value that is not a Flume event is passed on as the body, with the
// usual headers, and the error is returned for counting.
func TestRecordGarbageInFlumeFormatPassesThrough(t *testing.T) {
	c := defaults()
	c.FlumeEventFormat = true
	for _, v := range [][]byte{[]byte("plain text, not avro"), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, {}, nil} {
		ev, err := newMapper(c).event(record(v, nil))
		if err == nil {
			t.Errorf("%q decoded as a Flume event", v)
			continue
		}
		if !bytes.Equal(ev.Body, v) || ev.Headers["offset"] != "41" || ev.Headers["topic"] != "logs" || ev.Headers[decodeErrorHeader] == "" {
			t.Errorf("%q: event %v %q", v, ev.Headers, ev.Body)
		}
	}
}

func FuzzRecordFlumeFormat(f *testing.F) {
	f.Add(kafkaclient.EncodeFlumeEvent(nil, &sluice.Event{Headers: map[string]string{"a": "b"}, Body: []byte("x")}))
	f.Add([]byte("garbage"))
	c := defaults()
	c.FlumeEventFormat = true
	m := newMapper(c)
	f.Fuzz(func(t *testing.T, v []byte) {
		ev, err := m.event(record(v, nil))
		if ev == nil {
			t.Fatal("no event")
		}
		if err != nil && !bytes.Equal(ev.Body, v) {
			t.Fatalf("garbage body changed")
		}
	})
}
