package kafka

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func decode(t *testing.T, kv ...string) (*Config, []*conf.Error) {
	t.Helper()
	var props []conf.Prop
	for i := 0; i+1 < len(kv); i += 2 {
		props = append(props, conf.Prop{Key: kv[i], FullKey: "a1.sources.r1." + kv[i], Value: kv[i+1], File: "t.conf", Line: i/2 + 1})
	}
	c := defaults()
	return c, conf.Decode(c, props)
}

func errorsOnly(errs []*conf.Error) []*conf.Error {
	var out []*conf.Error
	for _, e := range errs {
		if !e.Warning {
			out = append(out, e)
		}
	}
	return out
}

func TestConfigDefaultsAreFlumes(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "h:9092", "kafka.topics", "a")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if c.groupID() != "flume" || c.BatchSize != 1000 || c.BatchDuration != time.Second ||
		c.BackoffIncrement != time.Second || c.MaxBackoff != 5*time.Second ||
		c.FlumeEventFormat || !c.SetTopicHeader || c.TopicHeader != "topic" {
		t.Errorf("defaults differ from Flume 1.11: %+v", c)
	}
}

func TestConfigTopicsSplitLikeFlume(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "h:9092", "kafka.topics", " a , b,c ,, ")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := strings.Join(c.topicList(), "|"); got != "a|b|c" {
		t.Errorf("topics = %q, want a|b|c", got)
	}
}

// The regex must match the whole topic name (Java's matches()), and wins
// over kafka.topics.
func TestConfigTopicRegexMatchesWholeName(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "h:9092", "kafka.topics", "ignored", "kafka.topics.regex", `logs-\d+`)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	pat, err := c.topicRegex()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(pat)
	for topic, want := range map[string]bool{"logs-1": true, "logs-12": true, "xlogs-1": false, "logs-1x": false, "logs-": false} {
		if re.MatchString(topic) != want {
			t.Errorf("%q matches %v, want %v", topic, !want, want)
		}
	}
	s, err := New(sluicetest.SourceEnv("r1", sluicetest.NewProcessor()), c)
	if err != nil {
		t.Fatal(err)
	}
	if s.topics != nil || !strings.Contains(s.subscription(), "regex") {
		t.Errorf("the regex did not win over kafka.topics: %s", s.subscription())
	}
}

func TestConfigErrorsNameTheProperty(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want string
	}{
		{"no bootstrap", []string{"kafka.topics", "a"}, "kafka.bootstrap.servers"},
		{"bad bootstrap", []string{"kafka.bootstrap.servers", "nohost", "kafka.topics", "a"}, "kafka.bootstrap.servers"},
		{"no topic", []string{"kafka.bootstrap.servers", "h:1"}, "kafka.topics"},
		{"lookahead regex", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics.regex", "a(?=b)"}, "kafka.topics.regex"},
		{"batchSize 0", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "batchSize", "0"}, "batchSize"},
		{"batchDurationMillis", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "batchDurationMillis", "x"}, "batchDurationMillis"},
		{"max below step", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "backoffSleepIncrement", "3000", "maxBackoffSleep", "1000"}, "maxBackoffSleep"},
		{"bad consumer value", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "kafka.consumer.auto.offset.reset", "sideways"}, "kafka.consumer.auto.offset.reset"},
		{"empty topic header", []string{"kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "topicHeader", ""}, "topicHeader"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := decode(t, tc.kv...)
			errs = errorsOnly(errs)
			if len(errs) == 0 {
				t.Fatalf("no error")
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if s := strings.Join(all, "\n"); !strings.Contains(s, tc.want) {
				t.Errorf("errors do not name %s:\n%s", tc.want, s)
			}
		})
	}
}

func TestConfigAcceptsBothBackoffSpellings(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "backoffStepMillis", "200", "maxBackoffMillis", "800")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if c.BackoffIncrement != 200*time.Millisecond || c.MaxBackoff != 800*time.Millisecond {
		t.Errorf("backoff = %v/%v", c.BackoffIncrement, c.MaxBackoff)
	}
}

// Flume's deprecated topic and groupId still work; the new names win.
func TestConfigDeprecatedNames(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "h:1", "topic", "old", "groupId", "g-old")
	if len(errorsOnly(errs)) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := c.topicList(); len(got) != 1 || got[0] != "old" || c.groupID() != "g-old" {
		t.Errorf("topic %v group %q", got, c.groupID())
	}
	if n := c.Warnings(); len(n) != 2 {
		t.Errorf("warnings = %q, want the two deprecations", n)
	}
	c, _ = decode(t, "kafka.bootstrap.servers", "h:1", "kafka.topics", "new", "topic", "old",
		"groupId", "g-old", "kafka.consumer.group.id", "g-new")
	if got := c.topicList(); got[0] != "new" || c.groupID() != "g-new" {
		t.Errorf("new names did not win: topic %v group %q", got, c.groupID())
	}
}

// migrateZookeeperOffsets is accepted; unknown and ignored kafka.consumer.*
// keys and deprecated names are warnings placed at their property, and no
// secret is shown.
func TestConfigWarningsAndSecrets(t *testing.T) {
	_, errs := decode(t, "kafka.bootstrap.servers", "h:1", "kafka.topics", "a", "migrateZookeeperOffsets", "true",
		"kafka.consumer.no.such.setting", "1", "zookeeperConnect", "zk:2181", "groupId", "g",
		"kafka.consumer.security.protocol", "SASL_PLAINTEXT", "kafka.consumer.sasl.mechanism", "PLAIN",
		"kafka.consumer.sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2";`)
	if len(errorsOnly(errs)) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	out := strings.Join(all, "\n")
	for _, want := range []string{
		"a1.sources.r1.kafka.consumer.no.such.setting (t.conf:4): is not a Kafka client property",
		"a1.sources.r1.zookeeperConnect (t.conf:5): is ignored",
		"a1.sources.r1.groupId (t.conf:6): is deprecated",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no warning %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "migrateZookeeperOffsets") {
		t.Errorf("a secret, or a warning about migrateZookeeperOffsets:\n%s", out)
	}
	// A broken JAAS config is an error that does not show the password.
	_, errs = decode(t, "kafka.bootstrap.servers", "h:1", "kafka.topics", "a",
		"kafka.consumer.security.protocol", "SASL_PLAINTEXT", "kafka.consumer.sasl.mechanism", "PLAIN",
		"kafka.consumer.sasl.jaas.config", `NoSuchModule required password="hunter2"`)
	if len(errorsOnly(errs)) == 0 {
		t.Error("a broken sasl.jaas.config is not an error")
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), "hunter2") {
			t.Errorf("the SASL password is in an error: %v", e)
		}
	}
}

func TestSpecRegistersFlumeClassName(t *testing.T) {
	for _, n := range []string{"kafka", "org.apache.flume.source.kafka.KafkaSource"} {
		if s, ok := sluice.Lookup(sluice.KindSource, n); !ok || s.Name != "kafka" {
			t.Errorf("source type %q not registered", n)
		}
	}
}

// The client never commits by itself (offsets move only after delivery),
// joins the configured group, and holds rebalances while a batch is out.
func TestClientOptionsCommitOnlyAfterDelivery(t *testing.T) {
	c, errs := decode(t, "kafka.bootstrap.servers", "127.0.0.1:1", "kafka.topics", "a",
		"kafka.consumer.group.id", "g1", "kafka.consumer.enable.auto.commit", "true")
	if len(errorsOnly(errs)) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	s, err := New(sluicetest.SourceEnv("r1", sluicetest.NewProcessor()), c)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if v, _ := cl.OptValue(kgo.DisableAutoCommit).(bool); !v {
		t.Error("auto-commit is on")
	}
	if v, _ := cl.OptValue(kgo.BlockRebalanceOnPoll).(bool); !v {
		t.Error("rebalances are not held while a batch is out")
	}
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != "g1" {
		t.Errorf("group = %q, want g1", g)
	}
	// Range first, so that Flume's consumers (range only) can share a group.
	bs, _ := cl.OptValue(kgo.Balancers).([]kgo.GroupBalancer)
	if len(bs) != 2 || bs[0].ProtocolName() != "range" || bs[1].ProtocolName() != "cooperative-sticky" {
		t.Errorf("balancers = %v, want range, cooperative-sticky", bs)
	}
}
