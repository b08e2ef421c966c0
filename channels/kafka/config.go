// Package kafka is Flume's Kafka channel: events are kept in a Kafka topic
// between sources and sinks. A commit of puts returns once the broker
// acknowledged every record; a commit of takes commits the consumer group's
// offsets, so what a sink delivered is not handed out again, and what it did
// not survives a crash of the agent.
package kafka

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// Config holds the Kafka channel's properties, with Flume 1.11's defaults.
type Config struct {
	kafkaclient.Common
	Topic             string        `flume:"kafka.topic" alias:"topic" doc:"the Kafka topic that holds the channel's events"`
	GroupID           string        `flume:"kafka.consumer.group.id" alias:"groupId" doc:"consumer group of the channel's takers; agents with the same group share the events"`
	ParseAsFlumeEvent bool          `flume:"parseAsFlumeEvent" doc:"records hold Flume's Avro event (headers and body); false: the record value is the body only, and headers are lost"`
	PollTimeout       time.Duration `flume:"kafka.pollTimeout" alias:"pollTimeout" unit:"ms" doc:"how long one fetch from the broker waits for records"`
	// DefaultPartitionID is a string so that "unset" (Kafka picks the
	// partition) is distinct from partition 0.
	DefaultPartitionID string            `flume:"defaultPartitionId" doc:"partition every put record goes to; unset: by the key header's hash, or spread over the partitions"`
	PartitionIDHeader  string            `flume:"partitionIdHeader" doc:"header whose value names the partition a record goes to (overrides defaultPartitionId)"`
	MigrateZKOffsets   bool              `flume:"migrateZookeeperOffsets" doc:"accepted and ignored: offsets have lived in Kafka since Kafka 0.9"`
	ZookeeperConnect   string            `flume:"zookeeperConnect" doc:"accepted and ignored (for migrateZookeeperOffsets)"`
	ReadSmallestOffset string            `flume:"readSmallestOffset" doc:"deprecated: true means kafka.consumer.auto.offset.reset = earliest, false latest"`
	Producer           map[string]string `flume:"kafka.producer.*" doc:"Kafka producer properties (Java client names), e.g. kafka.producer.acks; acks defaults to all"`
	Consumer           map[string]string `flume:"kafka.consumer.*" doc:"Kafka consumer properties (Java client names), e.g. kafka.consumer.auto.offset.reset; it defaults to earliest"`
}

// DefaultConfig returns Flume's defaults.
func DefaultConfig() *Config {
	return &Config{
		Topic:             "flume-channel",
		GroupID:           "flume",
		ParseAsFlumeEvent: true,
		PollTimeout:       500 * time.Millisecond,
		MigrateZKOffsets:  true,
	}
}

// Validate checks the channel's own properties; the Kafka client
// properties are checked when their options are built (in New), where the
// mapping lives.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, conf.Invalid("kafka.bootstrap.servers", "%v", err))
	}
	if strings.TrimSpace(c.Topic) == "" {
		errs = append(errs, conf.Invalid("kafka.topic", "must not be empty"))
	}
	if strings.TrimSpace(c.GroupID) == "" {
		errs = append(errs, conf.Invalid("kafka.consumer.group.id", "must not be empty"))
	}
	if c.PollTimeout <= 0 {
		errs = append(errs, conf.Invalid("kafka.pollTimeout", "%q must be greater than 0", c.PollTimeout.String()))
	}
	if _, err := c.defaultPartition(); err != nil {
		errs = append(errs, conf.Invalid("defaultPartitionId", "%q is not a partition number (0 or more)", c.DefaultPartitionID))
	}
	if s := strings.TrimSpace(c.ReadSmallestOffset); s != "" && s != "true" && s != "false" {
		errs = append(errs, conf.Invalid("readSmallestOffset", "%q is not true or false", c.ReadSmallestOffset))
	}
	return errors.Join(errs...)
}

// defaultPartition is defaultPartitionId, or -1 when it is unset.
func (c *Config) defaultPartition() (int32, error) {
	s := strings.TrimSpace(c.DefaultPartitionID)
	if s == "" {
		return -1, nil
	}
	p, err := strconv.ParseInt(s, 10, 32)
	if err == nil && p < 0 {
		err = errors.New("negative")
	}
	return int32(p), err
}

// defaultAssignors is the Java client's default partition.assignment.strategy
// since Kafka 3.0.
const defaultAssignors = "org.apache.kafka.clients.consumer.RangeAssignor,org.apache.kafka.clients.consumer.CooperativeStickyAssignor"

// consumerProps is kafka.consumer.* with Flume's channel defaults under it
// (auto.offset.reset earliest, or what the deprecated readSmallestOffset
// says) and the keys the channel sets itself taken out.
func (c *Config) consumerProps() map[string]string {
	m := make(map[string]string, len(c.Consumer)+1)
	m["auto.offset.reset"] = "earliest"
	switch strings.TrimSpace(c.ReadSmallestOffset) {
	case "false":
		m["auto.offset.reset"] = "latest"
	}
	// Flume 1.11's Kafka client (2.7) only knows the range assignor, and a
	// group whose members share no assignor cannot form: with Java 3.x's
	// default list, range first, Sluice and Flume agents can take from one
	// channel topic in one group (range is what such a group, or one of
	// Sluice agents alone, agrees on). franz-go's default, cooperative-sticky
	// alone, would refuse Flume members.
	m["partition.assignment.strategy"] = defaultAssignors
	for k, v := range c.Consumer {
		m[k] = v
	}
	// The channel commits offsets itself, at take commits, and names its
	// group with kafka.consumer.group.id (a field of its own).
	delete(m, "enable.auto.commit")
	delete(m, "group.id")
	return m
}

// producerProps is kafka.producer.* with Flume's channel default acks=all.
func (c *Config) producerProps() map[string]string {
	m := make(map[string]string, len(c.Producer)+1)
	m["acks"] = "all"
	for k, v := range c.Producer {
		m[k] = v
	}
	return m
}
