package kafka

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// Sluice's Kafka sink with useFlumeEventFormat writes records that Apache
// Flume 1.11's Kafka source (useFlumeEventFormat) reads back as the same
// events: every header and body intact, the key header carried as the
// record key. Events reach Sluice through its avro source from Flume's own
// RPC client.
func TestSluiceKafkaSinkToFlumeSource(t *testing.T) {
	topic := Topic(t, 2)
	port := peers.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	Agent(t, t.TempDir(), "s1", fmt.Sprintf(`s1.sources = r1
s1.channels = c1
s1.sinks = k1
s1.sources.r1.type = avro
s1.sources.r1.bind = 127.0.0.1
s1.sources.r1.port = %d
s1.sources.r1.channels = c1
s1.channels.c1.type = memory
s1.channels.c1.capacity = 10000
s1.channels.c1.transactionCapacity = 1000
s1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
s1.sinks.k1.channel = c1
s1.sinks.k1.kafka.bootstrap.servers = %s
s1.sinks.k1.kafka.topic = %s
s1.sinks.k1.useFlumeEventFormat = true
s1.sinks.k1.flumeBatchSize = 100
`, port, broker.Addr, topic))

	out := Dir(t, "out")
	peers.StartFlume(t, peers.FlumeOptions{
		Peer:     "flume-kafka",
		JVMFlags: peers.FastStartFlags,
		Conf: fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = %s
a1.sources.r1.kafka.topics = %s
a1.sources.r1.kafka.consumer.group.id = g-%s
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.useFlumeEventFormat = true
a1.sources.r1.batchDurationMillis = 200
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = avro_event
`, broker.Addr, topic, topic, out),
	})

	const n = 500
	events := make([]peers.Event, n)
	for i := range events {
		h := map[string]string{"seq": strconv.Itoa(i), "host": "web-" + strconv.Itoa(i%7)}
		if i%2 == 0 {
			h["key"] = "k" + strconv.Itoa(i%5)
		}
		events[i] = peers.Event{Headers: h, Body: []byte(fmt.Sprintf("body %d ünïcode", i))}
	}
	peers.FlumeSend(t, peers.FlumeClientProps("default", addr), events)

	got := waitAvroEvents(t, out, n, 2*time.Minute)
	bySeq := map[string]peers.Event{}
	for _, e := range got {
		if _, dup := bySeq[e.Headers["seq"]]; dup {
			t.Errorf("event %s arrived twice", e.Headers["seq"])
		}
		bySeq[e.Headers["seq"]] = e
	}
	for i, sent := range events {
		e, ok := bySeq[strconv.Itoa(i)]
		if !ok {
			t.Errorf("event %d never arrived", i)
			continue
		}
		if string(e.Body) != string(sent.Body) {
			t.Errorf("event %d body %q, want %q", i, e.Body, sent.Body)
		}
		for k, v := range sent.Headers {
			if e.Headers[k] != v {
				t.Errorf("event %d header %s = %q, want %q (headers %v)", i, k, e.Headers[k], v, e.Headers)
			}
		}
		if _, keyed := sent.Headers["key"]; !keyed && e.Headers["key"] != "" {
			t.Errorf("event %d: record had a key %q though the event had no key header", i, e.Headers["key"])
		}
	}
	if len(got) != n {
		t.Errorf("%d events delivered, want %d (no failure happened)", len(got), n)
	}
}
