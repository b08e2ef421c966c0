package kafka

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// waitAvroEvents polls a file_roll directory written with the avro_event
// serializer until it holds at least n events.
func waitAvroEvents(t *testing.T, dir string, n int, timeout time.Duration) []peers.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []peers.Event
	for {
		ev, err := peers.ReadAvroEventDir(dir)
		if err == nil {
			got = ev
			if len(got) >= n {
				return got
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events in %s after %v, want %d (last error: %v)", len(got), dir, timeout, n, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Apache Flume's Kafka sink, with useFlumeEventFormat, writes events that
// carry headers; Sluice's Kafka source, with useFlumeEventFormat, reads
// them with every header intact (its own topic/partition/offset added
// only where absent, the record key as "key", a header that was already
// there kept).
func TestFlumeKafkaSinkToSluiceSource(t *testing.T) {
	topic := Topic(t, 2)
	port := peers.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	peers.StartFlume(t, peers.FlumeOptions{
		Peer:      "flume-kafka",
		JVMFlags:  peers.FastStartFlags,
		ReadyAddr: addr,
		Conf: fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = %s
a1.sinks.k1.kafka.topic = %s
a1.sinks.k1.useFlumeEventFormat = true
a1.sinks.k1.flumeBatchSize = 100
`, port, broker.Addr, topic),
	})

	out := Dir(t, "out")
	Agent(t, t.TempDir(), "s1", fmt.Sprintf(`s1.sources = r1
s1.channels = c1
s1.sinks = k1
s1.sources.r1.type = kafka
s1.sources.r1.channels = c1
s1.sources.r1.kafka.bootstrap.servers = %s
s1.sources.r1.kafka.topics = %s
s1.sources.r1.kafka.consumer.group.id = g-%s
s1.sources.r1.kafka.consumer.auto.offset.reset = earliest
s1.sources.r1.useFlumeEventFormat = true
s1.sources.r1.batchDurationMillis = 200
s1.channels.c1.type = memory
s1.channels.c1.capacity = 10000
s1.sinks.k1.type = file_roll
s1.sinks.k1.channel = c1
s1.sinks.k1.sink.directory = %s
s1.sinks.k1.sink.rollInterval = 0
s1.sinks.k1.sink.serializer = avro_event
`, broker.Addr, topic, topic, out))

	const n = 500
	events := make([]peers.Event, n)
	for i := range events {
		h := map[string]string{"seq": strconv.Itoa(i), "host": "web-" + strconv.Itoa(i%7), "key": "k" + strconv.Itoa(i%5)}
		if i%2 == 0 {
			h["timestamp"] = "1234567890" // the event's own: kept, not replaced by the record's
		}
		events[i] = peers.Event{Headers: h, Body: []byte(fmt.Sprintf("body %d ünïcode", i))}
	}
	peers.FlumeSend(t, peers.FlumeClientProps("default", addr), events)

	got := waitAvroEvents(t, out, n, 2*time.Minute)
	bySeq := map[string]peers.Event{}
	for _, e := range got {
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
		if e.Headers["topic"] != topic || e.Headers["partition"] == "" || e.Headers["offset"] == "" {
			t.Errorf("event %d: topic/partition/offset headers missing: %v", i, e.Headers)
		}
		if _, has := sent.Headers["timestamp"]; !has {
			if ts, err := strconv.ParseInt(e.Headers["timestamp"], 10, 64); err != nil || ts < time.Now().Add(-time.Hour).UnixMilli() {
				t.Errorf("event %d: timestamp header %q is not the record's time", i, e.Headers["timestamp"])
			}
		}
	}
	if len(got) != n {
		t.Errorf("%d events delivered, want %d (no failure happened)", len(got), n)
	}
}

// With useFlumeEventFormat, records that are not Flume events (plain lines
// from the console producer) neither stop the source nor get lost: their
// bytes arrive as bodies, each is counted in EventReadFail, and the log
// names topic, partition and offset.
func TestSourceFlumeFormatGarbagePassesThrough(t *testing.T) {
	topic := Topic(t, 1)
	out := Dir(t, "out")
	port := peers.FreePort(t)
	a := peers.StartSluiceAgent(t, binary, t.TempDir(), "a1",
		sourceConf("a1", topic, "g-"+topic, out, "useFlumeEventFormat = true"),
		"-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", port))
	want := Lines("notavro", 50)
	Produce(t, topic, want)
	got := WaitDistinct(t, out, want, 2*time.Minute)
	if len(got) != len(want) {
		t.Errorf("%d lines, want %d", len(got), len(want))
	}
	a.WaitLog("is not a Flume event", 10*time.Second)
	a.WaitLog("offset=0", 10*time.Second)
	m := Metrics(t, port)
	src := m["SOURCE.r1"]
	if src["EventReadFail"] != strconv.Itoa(len(want)) || src["EventAcceptedCount"] != strconv.Itoa(len(want)) {
		t.Errorf("EventReadFail = %q, EventAcceptedCount = %q, want %d each", src["EventReadFail"], src["EventAcceptedCount"], len(want))
	}
	// Flume's Kafka source counters are in the monitoring JSON too.
	for _, k := range []string{"KafkaEventGetTimer", "KafkaCommitTimer", "KafkaEmptyCount"} {
		if _, ok := src[k]; !ok {
			t.Errorf("monitoring has no %s: %v", k, src)
		}
	}
}

// Apache Flume's Kafka source and Sluice's read one topic as one consumer
// group, as during a migration from one to the other: they share the
// partitions (Flume 1.11's Kafka client knows only the range assignor,
// which Sluice offers first), and every record arrives at one of them.
func TestFlumeAndSluiceSourcesShareAGroup(t *testing.T) {
	topic := Topic(t, 4)
	group := "g-" + topic
	flumeOut, sluiceOut := Dir(t, "flume"), Dir(t, "sluice")
	f := peers.StartFlume(t, peers.FlumeOptions{
		Peer:     "flume-kafka",
		JVMFlags: peers.FastStartFlags,
		Conf: fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = %s
a1.sources.r1.kafka.topics = %s
a1.sources.r1.kafka.consumer.group.id = %s
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.batchDurationMillis = 200
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
`, broker.Addr, topic, group, flumeOut),
	})
	// Flume's consumer has joined once it logged its partitions.
	if err := f.WaitLog("partition 0 assigned", 2*time.Minute); err != nil {
		t.Fatalf("Flume's source did not join the group: %v\n%s", err, f.LogTail())
	}
	s := Agent(t, t.TempDir(), "a1", sourceConf("a1", topic, group, sluiceOut))
	s.WaitLogFunc("partitions assigned to Sluice", func(out string) bool {
		return LogLine(out, "partitions assigned", topic) != ""
	}, 2*time.Minute)

	want := Lines("mixed", 8000)
	ProduceKeyed(t, topic, want)
	got := waitUnion(t, want, 3*time.Minute, flumeOut, sluiceOut)
	nf, ns := len(RollLines(t, flumeOut)), len(RollLines(t, sluiceOut))
	if nf == 0 || ns == 0 {
		t.Errorf("the partitions were not shared: Flume wrote %d lines, Sluice %d", nf, ns)
	}
	t.Logf("Flume %d lines, Sluice %d, %d duplicates", nf, ns, Duplicates(got))

	// A Sluice member that offers only cooperative-sticky cannot join a
	// group with Flume in it: one error says why and what to set.
	odd := Agent(t, t.TempDir(), "a2", sourceConf("a2", topic, group, Dir(t, "odd"),
		"kafka.consumer.partition.assignment.strategy = CooperativeStickyAssignor"))
	odd.WaitLogFunc("an error naming the assignor setting", func(out string) bool {
		return LogLine(out, "level=ERROR", "share no partition assignor", "partition.assignment.strategy", "INCONSISTENT_GROUP_PROTOCOL") != ""
	}, 2*time.Minute)
}
