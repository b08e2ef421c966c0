package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/test/peers"
)

// createTopic creates topic with partitions on k's broker (one broker:
// replication factor 1).
func createTopic(t *testing.T, k *peers.Kafka, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// topicReader reads a topic from its start, keeping count of the numbered
// bodies read so far.
type topicReader struct {
	cl *kgo.Client
	c  seqCount
}

func newTopicReader(t *testing.T, k *peers.Kafka, topic string) *topicReader {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &topicReader{cl: cl}
}

// read adds what the topic got since the last read: it polls until a
// poll finds nothing new, or for 1 s at most while a producer keeps the
// topic growing.
func (r *topicReader) read(int) (*seqCount, error) {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := r.cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(rec *kgo.Record) {
			n++
			r.c.add(rec.Value)
		})
		if n == 0 {
			break
		}
	}
	return &r.c, nil
}

// kafkaChannel is a Kafka channel c1 of agent ag on topic. The short
// session timeout lets a restarted agent get the partitions of the member
// that was killed within seconds.
func kafkaChannel(ag, addr, topic string) string {
	return fmt.Sprintf(`%[1]s.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
%[1]s.channels.c1.kafka.bootstrap.servers = %[2]s
%[1]s.channels.c1.kafka.topic = %[3]s
%[1]s.channels.c1.kafka.consumer.group.id = %[1]s
%[1]s.channels.c1.kafka.consumer.session.timeout.ms = 6000
%[1]s.channels.c1.kafka.consumer.heartbeat.interval.ms = 1000
`, ag, addr, topic)
}

// TestKafkaChannelKill9: avro → Kafka channel → file_roll, the agent
// killed -9 at random moments (some during start-up) while a client
// streams numbered events and resends what was not acknowledged. A put is
// acknowledged once the broker has it; a take's offsets are committed once
// file_roll wrote it. Every acknowledged event arrives; duplicates are at
// most a client batch (put to Kafka, unacknowledged) and a sink batch
// (written, offsets not committed) per kill.
func TestKafkaChannelKill9(t *testing.T) {
	k := needKafka(t, false)
	b := durations()
	topic := fmt.Sprintf("kafka-channel-kill9-%d", time.Now().UnixNano())
	createTopic(t, k, topic, 2)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+kafkaChannel("a1", k.Addr, topic)+fileRoll("a1", out))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	kills := killLoop(t, ag, b, newRand(t), hooks{})
	restarted := time.Now()
	acked, failures := load.Stop()
	tl, at := waitArrived(t, out, acked, 3*time.Minute)
	ag.stop()
	check(t, result{
		Scenario: "kafka-channel-kill9",
		Sent:     acked,
		DupBound: kills * (clientBatch + sinkBatch),
		Faults:   fmt.Sprintf("%d × kill -9 in %v (%d batch attempts failed and were resent)", kills, b.faultFor, failures),
		Recovery: since(restarted, at),
		Notes:    "Channel topic of 2 partitions; consumer session timeout 6 s, so a restarted agent takes again once the killed member's session has expired.",
	}, tl)
}
