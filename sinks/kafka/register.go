// Package kafka is the Kafka sink: it writes each batch taken from its
// channel to Kafka and lets the channel commit only once the brokers
// acknowledged every record (Flume's KafkaSink, on franz-go).
package kafka

import (
	"strings"

	"github.com/sluiceio/sluice"
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "kafka",
		Aliases:   []string{"org.apache.flume.sink.kafka.KafkaSink"},
		Stability: sluice.Beta,
		Doc: "Writes events to Kafka: up to `flumeBatchSize` events per transaction are produced together, and the " +
			"channel commits only once the brokers acknowledged every record (with `acks=all` and an idempotent " +
			"producer by default). The record value is the event body, or with `useFlumeEventFormat` the whole event " +
			"in Flume's Avro binary format; the `key` header is the record key. The topic is `kafka.topic` " +
			"(`%{header}` allowed), or an event's `topic` header with `allowTopicOverride`; `partitionIdHeader` / " +
			"`defaultPartitionId` pick a partition, `timestampHeader` the record time, and `header.<flume>=<kafka>` " +
			"copies event headers into Kafka record headers. `kafka.producer.*` passes producer settings (TLS, " +
			"SASL, `linger.ms`, `compression.type`, ...) under their Java client names.",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = localhost:9092
a1.sinks.k1.kafka.topic = access-logs
a1.sinks.k1.flumeBatchSize = 500
a1.sinks.k1.kafka.producer.linger.ms = 5
a1.sinks.k1.kafka.producer.compression.type = lz4
`

var notes = strings.TrimSpace(`
- **Idempotent, acks=all by default.** Flume 1.11's sink defaults ` + "`kafka.producer.acks`" + ` to ` + "`1`" + ` (leader only);
  Sluice uses the Java client's own default, ` + "`acks=all`" + ` with an idempotent producer, so a broker failing over
  loses nothing and a retried request does not duplicate records. Set ` + "`kafka.producer.acks = 1`" + ` for Flume's
  behaviour (idempotence is then off, as in the Java client).
- **A record the brokers refuse for good** (larger than ` + "`max.message.bytes`" + ` or
  ` + "`kafka.producer.max.request.size`" + `, a topic that does not exist while auto-creation is off, no write ACL,
  an invalid topic name, a partition number the topic does not have or that is not a number) is reported by name and
  topic; by default the batch rolls back as in Flume (which retries it forever), and with
  ` + "`deadLetter.directory`" + ` or ` + "`deadLetter.channel`" + ` it is set aside while the rest of the batch commits.
  Flume fails the whole batch on a ` + "`partitionIdHeader`" + ` value that is not a number; Sluice rejects that event only.
- **A broker that is away**: records wait up to ` + "`kafka.producer.delivery.timeout.ms`" + ` (120000, as in Java; a
  record already sent to a broker that died, up to that plus ` + "`request.timeout.ms`" + `, after which the producer is
  replaced, since an idempotent producer cannot time such a record out by itself), then the batch rolls back and the core backs off and logs the outage once (saying whether the bootstrap servers
  cannot be reached or SASL failed), a reminder a minute and once when it ends. Records a broker acknowledged
  before it failed are sent again with the rest of the batch (at-least-once).
- Start does not wait for Kafka: a background check (10 s at most) logs a warning when the brokers do not answer.
- ` + "`%{header}`" + ` in ` + "`kafka.topic`" + ` is replaced only when ` + "`allowTopicOverride`" + ` is true and the event has no topic
  header (as in Flume); a missing header gives an empty string. Flume's other escapes (` + "`%Y`" + `, ` + "`%t`" + `, ...) are
  not replaced.
- ` + "`flumeBatchSize`" + ` is the batch size, as in Flume; ` + "`kafka.flumeBatchSize`" + ` (the spelling Flume's user guide
  shows, which Flume ignores) is honoured when ` + "`flumeBatchSize`" + ` is not set; ` + "`flumeBatchSize`" + ` wins when both are.
  The deprecated ` + "`brokerList`" + `, ` + "`topic`" + `, ` + "`batchSize`" + ` and ` + "`requiredAcks`" + ` work with a warning.
- Keys are partitioned as the Java client does (murmur2), so a key goes to the same partition as with Flume.
- ` + "`kafka.producer.*`" + `: see the [compatibility page](../compatibility.md#kafka-client-properties) for the Java
  properties Sluice maps onto franz-go; ` + "`batch.size`" + `, serializers and partitioner classes are accepted and
  ignored with a warning, unknown ones too. Passwords and ` + "`sasl.jaas.config`" + ` never appear in a log line or an error.
- Counters: Flume's sink counters, plus KafkaEventSendTimer (ms spent on acknowledged batches) and RollbackCount
  (batches that failed) of Flume's KafkaSinkCounter; ConnectionCreated/Closed/FailedCount count broker connections.`)
