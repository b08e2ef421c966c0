package kafka

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// Flume's KafkaSink defaults.
const (
	defaultTopic     = "default-flume-topic"
	defaultBatchSize = 100
	keyHeader        = "key"
)

// Config is the Kafka sink's configuration, with Flume's property names.
type Config struct {
	BootstrapServers    string            `flume:"kafka.bootstrap.servers" doc:"comma-separated host:port list of Kafka brokers to bootstrap from (required; brokerList is the deprecated spelling)"`
	Topic               string            `flume:"kafka.topic" doc:"topic to write to (unset: default-flume-topic, as in Flume); with allowTopicOverride, %{header} is replaced by that header's value for events without the topic header"`
	BatchSize           int               `flume:"flumeBatchSize" doc:"most events taken from the channel and sent in one batch (100 when unset)"`
	KafkaBatchSize      int               `flume:"kafka.flumeBatchSize" doc:"the spelling Flume's user guide shows (Flume itself ignores it); used when flumeBatchSize is not set"`
	UseFlumeEventFormat bool              `flume:"useFlumeEventFormat" doc:"write each event as a Flume event in Avro binary (headers and body) instead of its body alone"`
	AllowTopicOverride  bool              `flume:"allowTopicOverride" doc:"an event's topicHeader header, when present, names its topic"`
	TopicHeader         string            `flume:"topicHeader" doc:"the header that names an event's topic (with allowTopicOverride)"`
	PartitionIDHeader   string            `flume:"partitionIdHeader" doc:"header holding the partition number to write an event to (wins over defaultPartitionId)"`
	DefaultPartitionID  string            `flume:"defaultPartitionId" doc:"partition number for every event without a partitionIdHeader value (unset: the key decides, or any partition)"`
	TimestampHeader     string            `flume:"timestampHeader" doc:"header holding the record's timestamp in ms since the epoch (unset or not a number: the time it is sent)"`
	Headers             map[string]string `flume:"header.*" doc:"header.<flumeHeader> = <kafkaHeader>: copy the event header flumeHeader into the record's Kafka header kafkaHeader"`
	Producer            map[string]string `flume:"kafka.producer.*" doc:"Kafka producer settings under their Java client names (acks, linger.ms, compression.type, security.protocol, ssl.*, sasl.*, ...)"`

	// Flume's deprecated spellings, honoured with a warning.
	BrokerList         string `flume:"brokerList" doc:"deprecated: kafka.bootstrap.servers"`
	OldTopic           string `flume:"topic" doc:"deprecated: kafka.topic"`
	OldBatchSize       int    `flume:"batchSize" doc:"deprecated: flumeBatchSize"`
	RequiredAcks       string `flume:"requiredAcks" doc:"deprecated: kafka.producer.acks"`
	SerializerClass    string `flume:"serializer.class" doc:"deprecated and ignored"`
	KeySerializerClass string `flume:"key.serializer.class" doc:"deprecated and ignored"`
}

func defaults() *Config {
	return &Config{AllowTopicOverride: true, TopicHeader: "topic"}
}

// settings is the configuration with Flume's fallbacks applied, and the
// warnings they give.
type settings struct {
	common    kafkaclient.Common
	topic     string
	batchSize int
	partition int32 // -1: none
	producer  map[string]string
	warnings  []error // placed at their property by conf.Warner
}

func (c *Config) settings() settings {
	s := settings{common: kafkaclient.Common{BootstrapServers: c.BootstrapServers}, topic: c.Topic, partition: -1}
	deprecated := func(old, now string) {
		s.warnings = append(s.warnings, conf.Invalid(old, "is deprecated: use %s", now))
	}
	if strings.TrimSpace(s.common.BootstrapServers) == "" && c.BrokerList != "" {
		s.common.BootstrapServers = c.BrokerList
		deprecated("brokerList", "kafka.bootstrap.servers")
	}
	if s.topic == "" && c.OldTopic != "" {
		s.topic = c.OldTopic
		deprecated("topic", "kafka.topic")
	}
	if s.topic == "" {
		s.topic = defaultTopic
		s.warnings = append(s.warnings, conf.Invalid("kafka.topic", "is not set: writing to %s, as Flume does", defaultTopic))
	}
	switch {
	case c.BatchSize > 0:
		s.batchSize = c.BatchSize
		if c.KafkaBatchSize > 0 {
			s.warnings = append(s.warnings, conf.Invalid("kafka.flumeBatchSize", "is ignored: flumeBatchSize is set too and wins"))
		}
	case c.OldBatchSize > 0:
		s.batchSize = c.OldBatchSize
		deprecated("batchSize", "flumeBatchSize")
	case c.KafkaBatchSize > 0:
		s.batchSize = c.KafkaBatchSize
		s.warnings = append(s.warnings, conf.Invalid("kafka.flumeBatchSize", "is used as flumeBatchSize (Flume ignores this spelling; flumeBatchSize is its name)"))
	default:
		s.batchSize = defaultBatchSize
	}
	s.producer = make(map[string]string, len(c.Producer)+1)
	for k, v := range c.Producer {
		s.producer[k] = v
	}
	if c.RequiredAcks != "" {
		deprecated("requiredAcks", "kafka.producer.acks")
		if _, ok := s.producer["acks"]; !ok {
			s.producer["acks"] = c.RequiredAcks
		}
	}
	if c.SerializerClass != "" {
		s.warnings = append(s.warnings, conf.Invalid("serializer.class", "is deprecated and ignored"))
	}
	if c.KeySerializerClass != "" {
		s.warnings = append(s.warnings, conf.Invalid("key.serializer.class", "is deprecated and ignored"))
	}
	if c.DefaultPartitionID != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(c.DefaultPartitionID), 10, 32); err == nil && n >= 0 {
			s.partition = int32(n)
		}
	}
	return s
}

// Validate checks the configuration once, when the file is read.
func (c *Config) Validate() error {
	var errs []error
	s := c.settings()
	if strings.TrimSpace(s.common.BootstrapServers) == "" {
		errs = append(errs, conf.Invalid("kafka.bootstrap.servers", "is required (or the deprecated brokerList)"))
	} else if err := s.common.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.BatchSize < 0 {
		errs = append(errs, conf.Invalid("flumeBatchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	if c.DefaultPartitionID != "" && s.partition < 0 {
		errs = append(errs, conf.Invalid("defaultPartitionId", "%q is not a partition number (0 or more)", c.DefaultPartitionID))
	}
	if c.AllowTopicOverride && strings.TrimSpace(c.TopicHeader) == "" {
		errs = append(errs, conf.Invalid("topicHeader", "is empty but allowTopicOverride is true"))
	}
	for flumeName, kafkaName := range c.Headers {
		if strings.TrimSpace(kafkaName) == "" {
			errs = append(errs, conf.Invalid("header."+flumeName, "names no Kafka header"))
		}
	}
	if _, _, err := kafkaclient.ProducerOpts(&s.common, s.producer); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Warnings are Flume's fallbacks and deprecated keys this configuration
// relies on, and the kafka.producer.* keys ignored or unknown; `sluice
// check` and the agent's start show them at their line.
func (c *Config) Warnings() []error {
	s := c.settings()
	out := s.warnings
	if _, warns, err := kafkaclient.ProducerOpts(&s.common, s.producer); err == nil {
		out = append(out, kafkaclient.WarningErrors(warns)...)
	}
	return out
}
