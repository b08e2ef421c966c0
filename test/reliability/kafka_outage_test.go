package reliability

import (
	"fmt"
	"testing"
	"time"
)

// TestKafkaOutage: avro → memory channel → Kafka sink, the broker stopped
// for the outage budget while the client keeps sending (runPeerOutage).
// Every acknowledged event is read back from the topic. The last Kafka
// scenario: the broker is stopped after it.
func TestKafkaOutage(t *testing.T) {
	k := needKafka(t, true)
	topic := fmt.Sprintf("kafka-outage-%d", time.Now().UnixNano())
	createTopic(t, k, topic, 2)
	r := newTopicReader(t, k, topic)
	runPeerOutage(t, peerOutage{
		scenario: "kafka-outage",
		peer:     "the Kafka broker",
		sink: func(ag string) string {
			return fmt.Sprintf(`%[1]s.sinks.k1.type = kafka
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.kafka.bootstrap.servers = %[2]s
%[1]s.sinks.k1.kafka.topic = %[3]s
%[1]s.sinks.k1.flumeBatchSize = %[4]d
`, ag, k.Addr, topic, sinkBatch)
		},
		sinkDoc: "; the Kafka sink holds only the batch it is producing (flumeBatchSize events, part of the channel's count until committed)",
		batch:   sinkBatch,
		stop:    k.Stop,
		start:   k.Restart,
		read:    r.read,
	})
}
