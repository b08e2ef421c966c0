package kafka

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// Headers the source sets, under Flume's names.
const (
	timestampHeader = "timestamp"
	partitionHeader = "partition"
	offsetHeader    = "offset"
	keyHeader       = "key"
	// decodeErrorHeader marks an event whose record value was not a Flume
	// event (useFlumeEventFormat); it says why. The Kafka channel uses the
	// same name.
	decodeErrorHeader = "sluice.kafka.decodeError"
)

// mapper turns Kafka records into events the way Flume's Kafka source does.
type mapper struct {
	flumeFormat bool
	setTopic    bool
	topicHeader string
	headerMap   map[string]string // Flume header <- Kafka header
}

func newMapper(c *Config) *mapper {
	return &mapper{flumeFormat: c.FlumeEventFormat, setTopic: c.SetTopicHeader,
		topicHeader: c.TopicHeader, headerMap: c.HeaderMap}
}

// event makes r's event. With the Flume event format, a value that is not an
// AvroFlumeEvent still becomes an event, its raw bytes the body, and the
// decoding error is returned for the caller to count and log: the record
// is neither lost nor left to block its partition.
//
// Headers, in Flume's order: the decoded event's own; timestamp (the
// record's, in ms) unless present; the header.* copies of Kafka headers
// (these overwrite); the topic header (setTopicHeader), partition and
// offset unless present; key whenever the record has one (it overwrites).
func (m *mapper) event(r *kgo.Record) (*sluice.Event, error) {
	var ev *sluice.Event
	var bad error
	if m.flumeFormat {
		ev, bad = kafkaclient.DecodeFlumeEvent(r.Value)
		if bad != nil {
			ev = nil
		}
	}
	if ev == nil {
		ev = &sluice.Event{Body: r.Value}
	}
	if ev.Headers == nil {
		ev.Headers = make(map[string]string, 6)
	}
	h := ev.Headers
	if bad != nil {
		h[decodeErrorHeader] = bad.Error()
	}
	if _, ok := h[timestampHeader]; !ok {
		h[timestampHeader] = strconv.FormatInt(r.Timestamp.UnixMilli(), 10)
	}
	for flumeName, kafkaName := range m.headerMap {
		for _, kh := range r.Headers {
			if kh.Key == kafkaName {
				h[flumeName] = string(kh.Value)
			}
		}
	}
	if m.setTopic {
		if _, ok := h[m.topicHeader]; !ok {
			h[m.topicHeader] = r.Topic
		}
	}
	if _, ok := h[partitionHeader]; !ok {
		h[partitionHeader] = strconv.FormatInt(int64(r.Partition), 10)
	}
	if _, ok := h[offsetHeader]; !ok {
		h[offsetHeader] = strconv.FormatInt(r.Offset, 10)
	}
	if r.Key != nil {
		h[keyHeader] = string(r.Key)
	}
	return ev, bad
}
