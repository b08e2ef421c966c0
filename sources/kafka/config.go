package kafka

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/javaregex"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// Config is the Kafka source's configuration, with Flume's property names.
type Config struct {
	kafkaclient.Common
	Topics           string            `flume:"kafka.topics" doc:"comma-separated topics to read"`
	TopicsRegex      string            `flume:"kafka.topics.regex" doc:"Java regular expression of the topics to read (all of each name must match); wins over kafka.topics"`
	GroupID          string            `flume:"kafka.consumer.group.id" doc:"consumer group; agents in one group share the topics' partitions"`
	BatchSize        int               `flume:"batchSize" doc:"most events handed to the channels in one batch"`
	BatchDuration    time.Duration     `flume:"batchDurationMillis" unit:"ms" doc:"longest time a batch is filled before it is handed over, in ms"`
	BackoffIncrement time.Duration     `flume:"backoffSleepIncrement" unit:"ms" alias:"backoffStepMillis" doc:"first pause, in ms, after the channels refused a batch; doubled on each refusal up to maxBackoffSleep"`
	MaxBackoff       time.Duration     `flume:"maxBackoffSleep" unit:"ms" alias:"maxBackoffMillis" doc:"longest pause, in ms, between retries of a batch the channels refused"`
	FlumeEventFormat bool              `flume:"useFlumeEventFormat" doc:"record values are Flume events in Avro binary (AvroFlumeEvent, as Flume's Kafka sink writes with useFlumeEventFormat): their headers and body become the event's"`
	SetTopicHeader   bool              `flume:"setTopicHeader" doc:"put the record's topic into the topicHeader header (unless the event already has it)"`
	TopicHeader      string            `flume:"topicHeader" doc:"name of the topic header"`
	HeaderMap        map[string]string `flume:"header.*" doc:"header.<flumeHeader> = <kafkaHeader>: copy the record's Kafka header kafkaHeader into the event header flumeHeader"`
	Consumer         map[string]string `flume:"kafka.consumer.*" doc:"Kafka consumer settings under their Java client names (security.protocol, ssl.*, sasl.*, auto.offset.reset, ...)"`
	MigrateZK        bool              `flume:"migrateZookeeperOffsets" doc:"accepted and ignored: offsets kept in ZooKeeper by Kafka before 0.9 are not migrated"`

	// Flume's deprecated spellings.
	Topic            string `flume:"topic" doc:"deprecated: kafka.topics"`
	OldGroupID       string `flume:"groupId" doc:"deprecated: kafka.consumer.group.id"`
	ZookeeperConnect string `flume:"zookeeperConnect" doc:"deprecated and not supported: set kafka.bootstrap.servers"`
}

func defaults() *Config {
	return &Config{
		GroupID:          "flume",
		BatchSize:        1000,
		BatchDuration:    1000 * time.Millisecond,
		BackoffIncrement: 1000 * time.Millisecond,
		MaxBackoff:       5000 * time.Millisecond,
		SetTopicHeader:   true,
		TopicHeader:      "topic",
		MigrateZK:        true,
	}
}

// Validate checks the cross-field rules once, when the file is read.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Common.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := kafkaclient.ConsumerOpts(&c.Common, c.consumerProps()); err != nil {
		errs = append(errs, err)
	}
	if c.TopicsRegex == "" && len(c.topicList()) == 0 {
		errs = append(errs, conf.Invalid("kafka.topics", "no topic to read: set kafka.topics or kafka.topics.regex"))
	}
	if c.TopicsRegex != "" {
		if _, err := c.topicRegex(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	if c.BatchDuration <= 0 {
		errs = append(errs, conf.Invalid("batchDurationMillis", "%q must be more than 0", fmt.Sprint(c.BatchDuration.Milliseconds())))
	}
	if c.BackoffIncrement <= 0 {
		errs = append(errs, conf.Invalid("backoffSleepIncrement", "%q must be more than 0", fmt.Sprint(c.BackoffIncrement.Milliseconds())))
	}
	if c.MaxBackoff < c.BackoffIncrement {
		errs = append(errs, conf.Invalid("maxBackoffSleep", "%q must not be less than backoffSleepIncrement (%d)",
			fmt.Sprint(c.MaxBackoff.Milliseconds()), c.BackoffIncrement.Milliseconds()))
	}
	if c.SetTopicHeader && c.TopicHeader == "" {
		errs = append(errs, conf.Invalid("topicHeader", "must not be empty while setTopicHeader is true"))
	}
	for k, v := range c.HeaderMap {
		if k == "" || v == "" {
			errs = append(errs, conf.Invalid("header."+k, "%q: both the Flume header (after header.) and the Kafka header must be named", v))
		}
	}
	return errors.Join(errs...)
}

// topicList is kafka.topics (or the deprecated topic) split as Flume
// splits it: on commas, with the spaces around each name dropped.
func (c *Config) topicList() []string {
	s := c.Topics
	if s == "" {
		s = c.Topic
	}
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// topicRegex is kafka.topics.regex as an RE2 pattern that must match a
// whole topic name, as Java's Pattern.matcher(topic).matches() does in the
// Kafka client.
func (c *Config) topicRegex() (string, error) {
	tr, err := javaregex.Translate(c.TopicsRegex)
	if err != nil {
		return "", conf.Invalid("kafka.topics.regex", "%q %v", c.TopicsRegex, err)
	}
	anchored := `^(?:` + tr + `)$`
	if _, err := regexp.Compile(anchored); err != nil {
		return "", conf.Invalid("kafka.topics.regex", "%q is not a valid regular expression: %s",
			c.TopicsRegex, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return anchored, nil
}

// groupID is the consumer group: kafka.consumer.group.id, else the
// deprecated groupId, else flume (Flume's order).
func (c *Config) groupID() string {
	if c.GroupID != "" && c.GroupID != "flume" {
		return c.GroupID
	}
	if c.OldGroupID != "" {
		return c.OldGroupID
	}
	return "flume"
}

// Warnings are the settings accepted but treated differently from Flume,
// and the kafka.consumer.* keys ignored or unknown, placed at their
// property; `sluice check` and the agent's start show them.
func (c *Config) Warnings() []error {
	var out []error
	if c.Topic != "" && c.Topics == "" && c.TopicsRegex == "" {
		out = append(out, conf.Invalid("topic", "is deprecated: use kafka.topics"))
	}
	if c.OldGroupID != "" {
		out = append(out, conf.Invalid("groupId", "is deprecated: use kafka.consumer.group.id"))
	}
	if c.ZookeeperConnect != "" {
		out = append(out, conf.Invalid("zookeeperConnect", "is ignored: offsets are kept in Kafka and the brokers come from kafka.bootstrap.servers"))
	}
	_, warns, _ := kafkaclient.ConsumerOpts(&c.Common, c.consumerProps())
	for _, w := range warns {
		// "kafka.consumer.<key> ...": blame the key.
		if key, rest, ok := strings.Cut(w, " "); ok && strings.HasPrefix(key, "kafka.consumer.") {
			if _, set := c.Consumer[strings.TrimPrefix(key, "kafka.consumer.")]; set {
				out = append(out, conf.Invalid(key, "%s", rest))
				continue
			}
		}
		out = append(out, errors.New(w))
	}
	return out
}

// defaultAssignors is partition.assignment.strategy unless set: the Java
// client's list since Kafka 3.0, range first. Flume 1.11's Kafka client
// knows only range, and a group whose members share no assignor cannot
// form, so with this list Flume's and Sluice's Kafka sources can read as
// one group (during a migration); franz-go's own default,
// cooperative-sticky alone, would refuse Flume's members. The Kafka
// channel uses the same list.
const defaultAssignors = "org.apache.kafka.clients.consumer.RangeAssignor,org.apache.kafka.clients.consumer.CooperativeStickyAssignor"

// consumerProps is kafka.consumer.* with the source's defaults.
func (c *Config) consumerProps() map[string]string {
	m := make(map[string]string, len(c.Consumer)+1)
	m["partition.assignment.strategy"] = defaultAssignors
	for k, v := range c.Consumer {
		m[k] = v
	}
	return m
}
