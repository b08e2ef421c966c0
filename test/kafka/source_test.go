package kafka

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// sourceConf is an agent: the Kafka source on topic (group) → memory →
// file_roll into out. extra lines are added to the source's properties.
func sourceConf(agent, topic, group, out string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `%[1]s.sources = r1
%[1]s.channels = c1
%[1]s.sinks = k1
%[1]s.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
%[1]s.sources.r1.channels = c1
%[1]s.sources.r1.kafka.bootstrap.servers = %[2]s
%[1]s.sources.r1.kafka.topics = %[3]s
%[1]s.sources.r1.kafka.consumer.group.id = %[4]s
%[1]s.sources.r1.kafka.consumer.auto.offset.reset = earliest
%[1]s.sources.r1.batchSize = 100
%[1]s.sources.r1.batchDurationMillis = 200
%[1]s.channels.c1.type = memory
%[1]s.channels.c1.capacity = 100000
%[1]s.channels.c1.transactionCapacity = 1000
%[1]s.sinks.k1.type = file_roll
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.sink.directory = %[5]s
%[1]s.sinks.k1.sink.rollInterval = 0
`, agent, broker.Addr, topic, group, out)
	for _, e := range extra {
		fmt.Fprintf(&b, "%s.sources.r1.%s\n", agent, e)
	}
	return b.String()
}

// The broker's own console producer writes lines; Sluice's source delivers
// every one of them to file_roll, once each (no failure happened, so no
// duplicates either).
func TestConsoleProducerToSluiceSource(t *testing.T) {
	topic := Topic(t, 3)
	out := Dir(t, "out")
	a := Agent(t, t.TempDir(), "a1", sourceConf("a1", topic, "g-"+topic, out))
	want := Lines("console", 2000)
	Produce(t, topic, want)
	got := WaitDistinct(t, out, want, 2*time.Minute)
	if d := Duplicates(got); d != 0 {
		t.Errorf("%d duplicates without any failure", d)
	}
	if len(got) != len(want) {
		t.Errorf("%d lines delivered, want %d", len(got), len(want))
	}
	a.WaitLog("partitions assigned", 10*time.Second)
}
