package kafka

import "github.com/sluiceio/sluice"

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindChannel,
		Name:      "kafka",
		Aliases:   []string{"org.apache.flume.channel.kafka.KafkaChannel"},
		Stability: sluice.Beta,
		Doc: "Keeps events in a Kafka topic: a commit of puts returns once the brokers acknowledged every " +
			"record, a commit of takes commits the consumer group's offsets. Events survive the agent, agents " +
			"sharing a topic and group share the work, and Flume agents with a Kafka channel on the same " +
			"topic can put and take alongside.",
		Factory: sluice.MakeFactory(DefaultConfig, New),
		Notes:   notes,
		Example: "a1.channels = c1\n" +
			"a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel\n" +
			"a1.channels.c1.kafka.bootstrap.servers = localhost:9092\n" +
			"a1.channels.c1.kafka.topic = flume-channel\n" +
			"a1.channels.c1.kafka.consumer.group.id = flume\n" +
			"a1.channels.c1.kafka.producer.linger.ms = 5\n",
	})
}

const notes = `Same properties, defaults and record format as Flume 1.11's Kafka channel, so Flume and
Sluice agents can share one channel topic: with parseAsFlumeEvent (the default) a record's
value is the Avro binary of Flume's AvroFlumeEvent (headers and body); without it the value is
the body and headers are lost. The ` + "`key`" + ` header becomes the record's key, and a taken
record's key is put back in the ` + "`key`" + ` header. Code defaults, as in Flume: producer
` + "`acks=all`" + `, consumer ` + "`auto.offset.reset=earliest`" + ` (Flume's user guide says latest; its code
uses earliest).

**Guarantees.** A commit of puts produces the batch and waits for every acknowledgement
(bounded by ` + "`kafka.producer.delivery.timeout.ms`" + `, 120 s); any failure fails the commit and the
source gets the batch back. A take hands out records; its commit commits the group's offsets
synchronously; a rollback hands its events out again first, in order. Nothing taken is lost:
offsets move only past events whose take committed, so a crash, kill -9 or rebalance hands
out again (to this agent or another member of the group) what was not committed. Duplicates
are possible only then.

Differences from Flume:

- **One consumer per channel, shared by its sinks.** Flume opens one consumer per sink
  thread, because a consumer commits all of its partitions at once. Here one consumer feeds a
  bounded buffer (2000 records) that every sink of the channel takes from; the channel tracks
  which records each take committed and commits, per partition, only the offset past the
  longest committed run. Sinks may commit in any order without an offset passing an event
  still in an open take. Several agents, or channels, with one group share the topic's
  partitions as Flume's consumers do.
- **Consumer group assignors.** kafka.consumer.partition.assignment.strategy defaults to the
  Java client's list since Kafka 3.0, range first, then cooperative-sticky (franz-go's own
  default, cooperative-sticky alone, could not share a group with Flume 1.11, whose Kafka
  client knows only range). So Flume and Sluice agents can take from one channel topic in
  one group, during a migration for instance (tested), and a group of Sluice agents
  rebalances the way Flume's does (eagerly).
- **Rebalances** commit, for each partition taken away, the offset past what takes committed
  and drop the rest of it from the buffer; its new owner reads it again from there.
- **A failed offset commit** (broker away, group rebalancing) does not fail the take, which
  was delivered: it is logged and retried with the next take commit. Flume logs it at
  info level and goes on.
- **A record that is not a Flume event** while parseAsFlumeEvent is true (written by
  something else) is handed out with its value as the body and the header
  ` + "`sluice.kafka.decodeError`" + ` giving why, with an error in the log naming topic, partition and
  offset. Flume throws on each take and then skips the record, losing it.
- **Takes do not wait.** A take returns what the buffer holds; sinks wait on the channel's
  "records fetched" signal instead of inside a poll. ` + "`kafka.pollTimeout`" + ` (also ` + "`pollTimeout`" + `) bounds
  each fetch.
- **Start does not wait for the brokers.** A broker that cannot be reached is logged as an
  error saying why (address, TLS, SASL); puts fail until it can, so sources back off.
- **Counters.** Flume's channel counters (EventPutAttemptCount per event put,
  EventPutSuccessCount at commit, EventTakeAttemptCount per record fetched from Kafka and
  handed out, not for ones handed out again after a rollback, EventTakeSuccessCount at
  commit), ChannelSize and ChannelCapacity 0 (so ChannelFillPercentage is Java's
  Double.MAX_VALUE, as in Flume), and the Kafka channel's KafkaEventGetTimer,
  KafkaEventSendTimer, KafkaCommitTimer (milliseconds) and RollbackCount (events).
  KafkaEventGetTimer is the time takes spent getting events from the buffer; fetching runs
  ahead of takes.
- **Accepted and ignored:** ` + "`migrateZookeeperOffsets`" + ` and ` + "`zookeeperConnect`" + ` (offsets have been in
  Kafka since 0.9). The deprecated ` + "`topic`" + `, ` + "`groupId`" + ` and ` + "`readSmallestOffset`" + ` are accepted as Flume
  accepts them; ` + "`brokerList`" + ` is not (use kafka.bootstrap.servers).
- **transactionCapacity and capacity** are not read, as in Flume: Kafka bounds nothing per
  transaction.
- **Kafka client properties** are the Java client's names, mapped onto franz-go: see the
  Kafka sink's page for what is supported, ignored (with a warning) or refused.
`
