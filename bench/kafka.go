package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice/test/peers"
)

// kafkaPartitions is the partition count of every benchmark topic.
const kafkaPartitions = 4

// kafkaBody is the body (record value) size of the Kafka workloads.
const kafkaBody = 100

// The Kafka workloads share one broker, started by the first of them that
// runs and stopped by StopKafka. It runs with the JVM's default flags (not
// the tests' FastStartFlags, which trade peak speed for start-up time) and
// a bounded heap, as a broker would be deployed.
var kafka struct {
	mu     sync.Mutex
	dir    string // the broker's data and log
	broker *peers.Kafka
	client *kgo.Client
	adm    *kadm.Client
	// filled is the event count the source topic holds, and producer the
	// rate franz-go wrote it at (the producer ceiling).
	filled   int
	producer float64
	consumer float64 // franz-go's read rate of the filled topic
}

// KafkaHeap is the broker's -Xmx.
const KafkaHeap = "1g"

func kafkaAdmin(ctx context.Context) (*kadm.Client, error) {
	kafka.mu.Lock()
	defer kafka.mu.Unlock()
	if kafka.adm != nil {
		return kafka.adm, nil
	}
	// A directory of its own, removed by StopKafka: the topics hold a few
	// hundred MB after a full run.
	dir, err := os.MkdirTemp("", "sluice-bench-kafka-")
	if err != nil {
		return nil, err
	}
	k, err := peers.StartKafkaProcess(ctx, peers.KafkaOptions{Heap: KafkaHeap, Partitions: kafkaPartitions, Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the Kafka broker: %w", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addr))
	if err != nil {
		_ = k.Stop()
		os.RemoveAll(dir)
		return nil, err
	}
	kafka.broker, kafka.client, kafka.adm, kafka.dir = k, cl, kadm.NewClient(cl), dir
	return kafka.adm, nil
}

// StopKafka stops the benchmark broker if a workload started it.
func StopKafka() {
	kafka.mu.Lock()
	defer kafka.mu.Unlock()
	if kafka.broker == nil {
		return
	}
	kafka.client.Close()
	if err := kafka.broker.Stop(); err != nil {
		fmt.Println("stopping the Kafka broker:", err)
	}
	os.RemoveAll(kafka.dir)
	kafka.broker, kafka.client, kafka.adm = nil, nil, nil
}

func kafkaAddr() string {
	kafka.mu.Lock()
	defer kafka.mu.Unlock()
	return kafka.broker.Addr
}

// runName names a run's topic or group after its scratch directory, which
// is new for every run.
func runName(kind string, p Ports) string {
	return "bench-" + kind + "-" + strings.TrimPrefix(filepath.Base(p.Dir), "sluice-bench")
}

func createTopic(ctx context.Context, topic string) error {
	adm, err := kafkaAdmin(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := adm.CreateTopic(ctx, kafkaPartitions, 1, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// endOffsets sums the end offsets of topic's partitions: the records
// written to it (no transactions, no compaction).
func endOffsets(ctx context.Context, topic string) (int64, error) {
	adm, err := kafkaAdmin(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := offs.Error(); err != nil {
		return 0, err
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, nil
}

// kafkaWorkloads are the Kafka sink, source and channel beside Flume 1.11's
// KafkaSink, KafkaSource and KafkaChannel on the same broker.
func kafkaWorkloads() []Workload {
	return []Workload{KafkaSinkWorkload(), KafkaSourceWorkload(), KafkaChannelWorkload()}
}

// stressSource is a StressSource of n 100-byte events in batches of 1000.
func stressSource(n int) string {
	return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = org.apache.flume.source.StressSource\n"+
		"a1.sources.r1.size = %d\na1.sources.r1.batchSize = 1000\n"+
		"a1.sources.r1.maxTotalEvents = %d\na1.sources.r1.channels = c1\n", kafkaBody, n)
}

// KafkaSinkWorkload is stress → memory → Kafka sink into a topic of its
// own per run, counted at the topic's end offsets (so both agents are
// counted by the broker, not by their own metrics). acks=all for both:
// Sluice's idempotent producer requires it, Flume's default is 1.
func KafkaSinkWorkload() Workload {
	return Workload{
		Name: fmt.Sprintf("stress → memory → kafka sink, %d-byte bodies, %d partitions", kafkaBody, kafkaPartitions),
		Prepare: func(ctx context.Context, p Ports) error {
			if err := fillSourceTopic(ctx, p.Events); err != nil { // the ceiling, once
				return err
			}
			return createTopic(ctx, runName("sink", p))
		},
		Conf: func(p Ports) string {
			return stressSource(p.Events) + memoryChannel + fmt.Sprintf("a1.sinks = k1\n"+
				"a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"+
				"a1.sinks.k1.kafka.bootstrap.servers = %s\na1.sinks.k1.kafka.topic = %s\n"+
				"a1.sinks.k1.flumeBatchSize = 1000\na1.sinks.k1.kafka.producer.acks = all\n"+
				"a1.sinks.k1.channel = c1\n", kafkaAddr(), runName("sink", p))
		},
		Count: func(ctx context.Context, p Ports) (int64, error) {
			return endOffsets(ctx, runName("sink", p))
		},
		BodySize:  kafkaBody,
		SinkKey:   "the topic's end offsets",
		FlumePeer: "flume-kafka",
		Note: func(Result) string {
			return kafkaCeilingNote(true, false)
		},
	}
}

// KafkaSourceWorkload is Kafka source → memory → null reading a topic
// filled once (by franz-go, before the first run) from the beginning, each
// run in a consumer group of its own.
func KafkaSourceWorkload() Workload {
	return Workload{
		Name: fmt.Sprintf("kafka source → memory → null, %d-byte records, %d partitions", kafkaBody, kafkaPartitions),
		Prepare: func(ctx context.Context, p Ports) error {
			return fillSourceTopic(ctx, p.Events)
		},
		Conf: func(p Ports) string {
			return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource\n"+
				"a1.sources.r1.kafka.bootstrap.servers = %s\na1.sources.r1.kafka.topics = %s\n"+
				"a1.sources.r1.kafka.consumer.group.id = %s\na1.sources.r1.kafka.consumer.auto.offset.reset = earliest\n"+
				"a1.sources.r1.batchSize = 1000\na1.sources.r1.channels = c1\n",
				kafkaAddr(), sourceTopic(p.Events), runName("group", p)) + memoryNull
		},
		BodySize:  kafkaBody,
		SinkKey:   "CHANNEL.c1",
		FlumePeer: "flume-kafka",
		Note: func(Result) string {
			return kafkaCeilingNote(false, true)
		},
	}
}

// KafkaChannelWorkload is stress → Kafka channel → null, the channel's
// topic and group new for every run.
func KafkaChannelWorkload() Workload {
	return Workload{
		Name: fmt.Sprintf("stress → kafka channel → null, %d-byte bodies, %d partitions", kafkaBody, kafkaPartitions),
		Prepare: func(ctx context.Context, p Ports) error {
			if err := fillSourceTopic(ctx, p.Events); err != nil { // the ceiling, once
				return err
			}
			return createTopic(ctx, runName("channel", p))
		},
		Conf: func(p Ports) string {
			return stressSource(p.Events) + fmt.Sprintf("a1.channels = c1\n"+
				"a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel\n"+
				"a1.channels.c1.kafka.bootstrap.servers = %s\na1.channels.c1.kafka.topic = %s\n"+
				"a1.channels.c1.kafka.consumer.group.id = %s\na1.channels.c1.kafka.consumer.auto.offset.reset = earliest\n"+
				"a1.sinks = k1\na1.sinks.k1.type = null\na1.sinks.k1.batchSize = 1000\na1.sinks.k1.channel = c1\n",
				kafkaAddr(), runName("channel", p), runName("group", p))
		},
		BodySize:  kafkaBody,
		SinkKey:   "CHANNEL.c1",
		FlumePeer: "flume-kafka",
		Note: func(Result) string {
			return kafkaCeilingNote(true, true)
		},
	}
}

func sourceTopic(events int) string { return fmt.Sprintf("bench-source-%d", events) }

// fillSourceTopic writes events 100-byte records to the source workload's
// topic once with franz-go's producer, then times the same producer
// writing as many to another topic (the producer ceiling) and a franz-go
// consumer reading the first topic back (the consumer ceiling).
func fillSourceTopic(ctx context.Context, events int) error {
	if _, err := kafkaAdmin(ctx); err != nil {
		return err
	}
	kafka.mu.Lock()
	filled := kafka.filled
	kafka.mu.Unlock()
	if filled == events {
		return nil
	}
	topic := sourceTopic(events)
	if _, err := produceN(ctx, topic, events); err != nil {
		return err
	}
	// Timed on a second topic: the first write also warmed the broker up
	// (a cold JVM's JIT), which the agents' runs, timed from their first
	// event, do not pay either.
	prodRate, err := produceN(ctx, topic+"-ceiling", events)
	if err != nil {
		return err
	}
	consRate, err := consumeAll(ctx, topic, events)
	if err != nil {
		return err
	}
	kafka.mu.Lock()
	kafka.filled, kafka.producer, kafka.consumer = events, prodRate, consRate
	kafka.mu.Unlock()
	return nil
}

// produceN creates topic and writes n 100-byte records to it with a
// franz-go producer set up as the Kafka sink sets it up by default
// (idempotent, acks=all), and returns the rate.
func produceN(ctx context.Context, topic string, n int) (float64, error) {
	if err := createTopic(ctx, topic); err != nil {
		return 0, err
	}
	// The settings the Kafka sink gives franz-go by default (no
	// compression, sticky partitioning of unkeyed records, 1 MiB batches).
	prod, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchMaxBytes(1048576))
	if err != nil {
		return 0, err
	}
	defer prod.Close()
	body := make([]byte, kafkaBody)
	for i := range body {
		body[i] = 'x'
	}
	var (
		mu          sync.Mutex
		firstErr    error
		first, last time.Time
		acked       int
	)
	start := time.Now()
	for i := 0; i < n; i++ {
		prod.Produce(ctx, &kgo.Record{Value: body}, func(_ *kgo.Record, err error) {
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if acked == 0 {
				first = now
			}
			acked++
			last = now
		})
	}
	if err := prod.Flush(ctx); err != nil {
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return 0, fmt.Errorf("writing %s: %w", topic, firstErr)
	}
	// Timed from the first acknowledgement to the last, as the agents'
	// runs are timed from their first counted event (from the start when
	// all came at once).
	if !last.After(first) {
		return float64(n) / last.Sub(start).Seconds(), nil
	}
	return float64(n-1) / last.Sub(first).Seconds(), nil
}

// consumeAll reads topic from the start with a franz-go consumer (direct
// partition assignment, no group) until it has n records, and returns the
// rate.
func consumeAll(ctx context.Context, topic string, n int) (float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	begin := time.Now()
	var start time.Time
	got, firstN := 0, 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("reading %s back: %d of %d records: %w", topic, got, n, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return 0, fmt.Errorf("reading %s back: %w", topic, ferr)
		}
		if got == 0 && fs.NumRecords() > 0 {
			// From the first fetch on, as the agents are timed.
			start, firstN = time.Now(), fs.NumRecords()
		}
		got += fs.NumRecords()
	}
	if got == firstN {
		// All in one fetch (a small run): timed from the client's start.
		return float64(n) / time.Since(begin).Seconds(), nil
	}
	return float64(got-firstN) / time.Since(start).Seconds(), nil
}

// kafkaCeilingNote states the franz-go client's own rates on the same
// broker, measured when the source topic was filled (by the first Kafka
// workload that ran).
func kafkaCeilingNote(producer, consumer bool) string {
	kafka.mu.Lock()
	filled, prod, cons := kafka.filled, kafka.producer, kafka.consumer
	kafka.mu.Unlock()
	if filled == 0 {
		return ""
	}
	var parts []string
	if producer {
		parts = append(parts, fmt.Sprintf("franz-go's own producer (idempotent, acks=all, no compression, sticky partitioner: the sink's defaults; run by the benchmark itself) wrote %d %d-byte records at %.0f events/s (%.1f MB/s)",
			filled, kafkaBody, prod, prod*kafkaBody/1e6))
	}
	if consumer {
		parts = append(parts, fmt.Sprintf("franz-go's own consumer read %d %d-byte records at %.0f events/s (%.1f MB/s)",
			filled, kafkaBody, cons, cons*kafkaBody/1e6))
	}
	return fmt.Sprintf("the ceiling on this broker (Apache Kafka %s, -Xmx%s, %d partitions): %s",
		peers.KafkaVersion, KafkaHeap, kafkaPartitions, strings.Join(parts, "; "))
}
