// Package kafka is the Kafka source: it reads topics as a member of a
// consumer group and hands the records to the channels in batches,
// committing each partition's offsets only after the batch is in every
// required channel (at-least-once, as Flume's KafkaSource).
package kafka

import (
	"strings"

	"github.com/sluiceio/sluice"
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "kafka",
		Aliases:   []string{"org.apache.flume.source.kafka.KafkaSource"},
		Stability: sluice.Beta,
		Doc: "Reads Kafka topics (`kafka.topics`, or every topic matching `kafka.topics.regex`) as a member of the " +
			"consumer group `kafka.consumer.group.id`; the agents of one group share the partitions. Records are " +
			"gathered until `batchSize` or `batchDurationMillis`, handed to the channels as one batch, and each " +
			"partition's offset is committed (synchronously) only once every required channel took the batch, so a " +
			"crash or a rebalance repeats events but never loses one. The record value is the event body, or, with " +
			"`useFlumeEventFormat`, a Flume event in Avro binary whose headers come along. The source adds the " +
			"headers `timestamp`, `topic`, `partition` and `offset` unless the event has them, and `key` whenever " +
			"the record has a key. `kafka.consumer.*` passes Kafka consumer settings (TLS, SASL, " +
			"`auto.offset.reset`, ...) under their Java client names.",
		Notes: strings.TrimSpace(`
- **Rebalances.** Partitions are only taken away between batches: the batch being read or handed over
  finishes first, and the offsets of what was delivered are committed before the partition is given up
  A batch the channels refused is never committed, whoever reads its partition next (tested: a member
  stalled on full channels is dropped by the group, the others read everything, and its late delivery
  does not move the group's offsets back).
- **A broker that goes away** is logged once, when the connection first fails (with the cause: refused,
  TLS, SASL), reminded once a minute, and once when it answers again; the client reconnects by itself.
  Flume's consumer logs a warning on every attempt. Unreachable ` + "`kafka.bootstrap.servers`" + ` at start do
  not stop the agent: the source waits for them the same way.
- **Consumer group assignors.** ` + "`kafka.consumer.partition.assignment.strategy`" + ` defaults to the Java
  client's list since Kafka 3.0, range first, then cooperative-sticky, as the Kafka channel's does: Flume
  1.11's consumers know only range, so Flume and Sluice agents can read a topic as one group, during a
  migration for instance (tested). A member whose assignors the group does not share is named in one
  ERROR line saying which setting to change, not a warning per retry.
- **A topic of ` + "`kafka.topics`" + ` that does not exist** is named in an ERROR line (once), and read as soon as
  it is created.
- **useFlumeEventFormat and a value that is not a Flume event**: Flume logs an error and drops the record.
  Sluice passes its raw bytes on as the event body (with the usual headers, and ` + "`sluice.kafka.decodeError`" + `
  saying why, as the Kafka channel does), counts it in
  ` + "`EventReadFail`" + `, and logs it with its topic, partition and offset at most once every 10 s.
- **Empty polls do not sleep.** A poll waits up to ` + "`batchDurationMillis`" + ` for records; Flume then also sleeps
  ` + "`backoffSleepIncrement`" + ` more per empty poll (up to ` + "`maxBackoffSleep`" + `). In Sluice these two set the
  backoff while the channels refuse a batch (starting at ` + "`backoffSleepIncrement`" + `, doubling up to
  ` + "`maxBackoffSleep`" + `); ` + "`backoffStepMillis`" + ` and ` + "`maxBackoffMillis`" + ` are accepted spellings.
- Offsets are committed with each batch, as Flume does; a failed commit is retried with the next batch and
  when the partition is revoked.
- Counters: Flume's source counters (EventReceivedCount and EventAcceptedCount count events, no Append*)
  plus KafkaEventGetTimer, KafkaCommitTimer (ms) and KafkaEmptyCount (batches that found nothing).
- ` + "`migrateZookeeperOffsets`" + ` is accepted and ignored, and ` + "`zookeeperConnect`" + ` is not supported: offsets
  kept in ZooKeeper by Kafka before 0.9 are not migrated. The deprecated ` + "`topic`" + ` and ` + "`groupId`" + ` work
  as in Flume, with a warning.
- ` + "`kafka.topics.regex`" + ` is a Java regular expression that must match the whole topic name, as in the
  Java client; internal topics are never matched.
- The consumer's ` + "`auto.offset.reset`" + ` defaults to ` + "`latest`" + ` as in Flume (the Java client's default): a new
  group starts at the end of the topics. Set ` + "`kafka.consumer.auto.offset.reset = earliest`" + ` to read what is
  already there.`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource\n" +
			"a1.sources.r1.kafka.bootstrap.servers = localhost:9092\n" +
			"a1.sources.r1.kafka.topics = logs\n" +
			"a1.sources.r1.kafka.consumer.group.id = sluice\n" +
			"a1.sources.r1.batchSize = 1000\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}
