package kafka

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// topicTemplate is kafka.topic split at its %{header} references.
type topicTemplate struct {
	lits  []string // len(lits) == len(names)+1
	names []string
}

func parseTopic(s string) topicTemplate {
	var t topicTemplate
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		t.lits = append(t.lits, s[:i])
		t.names = append(t.names, s[i+2:i+2+j])
		s = s[i+3+j:]
	}
	t.lits = append(t.lits, s)
	return t
}

// expand replaces each %{name} by the header's value (empty when the event
// has none, as in Flume).
func (t *topicTemplate) expand(h map[string]string) string {
	if len(t.names) == 0 {
		return t.lits[0]
	}
	var b strings.Builder
	for i, n := range t.names {
		b.WriteString(t.lits[i])
		b.WriteString(h[n])
	}
	b.WriteString(t.lits[len(t.lits)-1])
	return b.String()
}

// headerCopy is one header.<flume>=<kafka> rule.
type headerCopy struct{ flume, kafka string }

// recordMaker turns events into Kafka records as Flume's KafkaSink does.
type recordMaker struct {
	topic         topicTemplate
	rawTopic      string
	override      bool
	topicHeader   string
	partHeader    string
	partition     int32 // -1: none
	tsHeader      string
	headers       []headerCopy
	flumeFormat   bool
	badTimestamps int // counted for one warning per batch
}

func newRecordMaker(c *Config, s settings) *recordMaker {
	m := &recordMaker{
		topic: parseTopic(s.topic), rawTopic: s.topic, override: c.AllowTopicOverride, topicHeader: c.TopicHeader,
		partHeader: c.PartitionIDHeader, partition: s.partition, tsHeader: c.TimestampHeader,
		flumeFormat: c.UseFlumeEventFormat,
	}
	for f, k := range c.Headers {
		m.headers = append(m.headers, headerCopy{f, strings.TrimSpace(k)})
	}
	sort.Slice(m.headers, func(i, j int) bool { return m.headers[i].flume < m.headers[j].flume })
	return m
}

// manualPartition marks a record whose partition the event chose.
type manualPartition struct{}

// errBadPartition is the reason an event with an unusable partition
// number is rejected.
type errBadPartition struct {
	header, value string
}

func (e errBadPartition) Error() string {
	return fmt.Sprintf("header %s: %q is not a partition number", e.header, e.value)
}

// record builds e's record. Its value aliases e's body unless the Flume
// event format is on (then it is a slice of buf, which grows).
func (m *recordMaker) record(ctx context.Context, e *sluice.Event, buf *[]byte) (*kgo.Record, error) {
	h := e.Headers
	var topic string
	if m.override {
		if t, ok := h[m.topicHeader]; ok {
			topic = t
		} else {
			topic = m.topic.expand(h)
		}
	} else {
		// Flume substitutes headers only when the topic header may
		// override; otherwise kafka.topic is taken as written.
		topic = m.rawTopic
	}
	r := &kgo.Record{Topic: topic, Context: ctx}
	if k, ok := h[keyHeader]; ok {
		r.Key = []byte(k)
	}
	part := m.partition
	if m.partHeader != "" {
		if v, ok := h[m.partHeader]; ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil || n < 0 {
				return nil, errBadPartition{m.partHeader, v}
			}
			part = int32(n)
		}
	}
	if part >= 0 {
		r.Partition = part
		r.Context = context.WithValue(ctx, manualPartition{}, true)
	}
	if m.tsHeader != "" {
		if v, ok := h[m.tsHeader]; ok {
			if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				r.Timestamp = time.UnixMilli(ms)
			} else {
				m.badTimestamps++
			}
		}
	}
	for _, c := range m.headers {
		if v, ok := h[c.flume]; ok {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: c.kafka, Value: []byte(v)})
		}
	}
	if m.flumeFormat {
		start := len(*buf)
		*buf = kafkaclient.EncodeFlumeEvent(*buf, e)
		r.Value = (*buf)[start:len(*buf):len(*buf)]
	} else {
		r.Value = e.Body
	}
	return r, nil
}

// partitioner honours the partition an event chose and otherwise
// partitions as the Java client does: murmur2 of the key, sticky batches
// for records without one.
type partitioner struct{ inner kgo.Partitioner }

func newPartitioner() kgo.Partitioner { return partitioner{kgo.StickyKeyPartitioner(nil)} }

func (p partitioner) ForTopic(t string) kgo.TopicPartitioner {
	return topicPartitioner{p.inner.ForTopic(t)}
}

type topicPartitioner struct{ inner kgo.TopicPartitioner }

func manual(r *kgo.Record) bool {
	return r.Context != nil && r.Context.Value(manualPartition{}) != nil
}

func (p topicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return manual(r) || p.inner.RequiresConsistency(r)
}

// Partition returns the chosen partition even when it is out of range:
// franz-go then fails that record, and the sink rejects it.
func (p topicPartitioner) Partition(r *kgo.Record, n int) int {
	if manual(r) {
		return int(r.Partition)
	}
	return p.inner.Partition(r, n)
}

func (p topicPartitioner) OnNewBatch() {
	if nb, ok := p.inner.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
