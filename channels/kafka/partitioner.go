package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// manualCtx marks a record whose Partition was chosen by the channel
// (defaultPartitionId or partitionIdHeader); the others are partitioned as
// the Kafka client would. A partition the topic does not have fails the
// record, and so the commit.
var manualCtx = context.WithValue(context.Background(), manualKey{}, true)

type manualKey struct{}

func isManual(r *kgo.Record) bool { return r.Context == manualCtx }

// manualPartitioner wraps the default partitioner (murmur2 of the key,
// sticky batches without one) and honours records marked manual.
type manualPartitioner struct{ def kgo.Partitioner }

func (p manualPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &manualTopicPartitioner{def: p.def.ForTopic(topic)}
}

type manualTopicPartitioner struct{ def kgo.TopicPartitioner }

func (p *manualTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return isManual(r) || p.def.RequiresConsistency(r)
}

func (p *manualTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if isManual(r) {
		return int(r.Partition)
	}
	return p.def.Partition(r, n)
}

// OnNewBatch lets the sticky default move on to another partition.
func (p *manualTopicPartitioner) OnNewBatch() {
	if o, ok := p.def.(kgo.TopicPartitionerOnNewBatch); ok {
		o.OnNewBatch()
	}
}
