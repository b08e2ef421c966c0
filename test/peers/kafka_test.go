package peers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// The broker serves the distribution's own console tools, survives a
// restart on the same dir and port with its data, and flume-kafka's Flume
// agent writes to it with its real KafkaSink.
func TestKafkaConsoleToolsAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs Kafka; run without -short")
	}
	k := StartKafka(t, KafkaOptions{JVMFlags: FastStartFlags})
	ctx := context.Background()
	if err := k.CreateTopic(ctx, "t1", 2); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("k%d:v%d", i, i))
	}
	if err := k.ConsoleProduce(ctx, "t1", want, ""); err != nil {
		t.Fatal(err)
	}
	if err := k.Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := k.ConsoleConsume(ctx, "t1", len(want), 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("consumed %q, want %q", got, want)
	}

	// Flume 1.11's KafkaSink (kafka-clients 2.7.2) against this broker.
	f := StartFlume(t, FlumeOptions{Peer: "flume-kafka", JVMFlags: FastStartFlags, Conf: fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 10
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.kafka.bootstrap.servers = %s
a1.sinks.k1.kafka.topic = t1
a1.sinks.k1.channel = c1
`, k.Addr)})
	_ = f
	got, err = k.ConsoleConsume(ctx, "t1", len(want)+10, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if !slices.Contains(got, fmt.Sprint(i)) {
			t.Fatalf("Flume's %d missing from %q", i, got)
		}
	}
}
