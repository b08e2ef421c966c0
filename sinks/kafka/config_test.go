package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/kafkaclient"
)

// decode runs the agent's decoder over property lines "key = value".
func decode(t *testing.T, lines ...string) (*Config, []*conf.Error) {
	t.Helper()
	cfg := defaults()
	var props []conf.Prop
	for i, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		props = append(props, conf.Prop{Key: strings.TrimSpace(k), FullKey: "a1.sinks.k1." + strings.TrimSpace(k), Value: strings.TrimSpace(v), File: "f.conf", Line: i + 1})
	}
	return cfg, conf.Decode(cfg, props)
}

func mustDecode(t *testing.T, lines ...string) *Config {
	t.Helper()
	cfg, errs := decode(t, lines...)
	for _, e := range errs {
		if !e.Warning {
			t.Fatalf("decode: %v", e)
		}
	}
	return cfg
}

func TestDefaultsAreFlumes(t *testing.T) {
	cfg := mustDecode(t, "kafka.bootstrap.servers = b:9092")
	s := cfg.settings()
	if s.topic != "default-flume-topic" || s.batchSize != 100 || s.partition != -1 || !cfg.AllowTopicOverride || cfg.TopicHeader != "topic" || cfg.UseFlumeEventFormat {
		t.Errorf("settings %+v config %+v", s, cfg)
	}
	if len(s.warnings) != 1 || !strings.Contains(s.warnings[0].Error(), "kafka.topic: is not set") {
		t.Errorf("warnings %q", s.warnings)
	}
}

func TestLegacyKeysAndBatchSizePrecedence(t *testing.T) {
	cfg := mustDecode(t, "brokerList = old:9092", "topic = t1", "batchSize = 7", "requiredAcks = 1")
	s := cfg.settings()
	if s.common.BootstrapServers != "old:9092" || s.topic != "t1" || s.batchSize != 7 || s.producer["acks"] != "1" {
		t.Errorf("%+v", s)
	}
	if got := errors.Join(s.warnings...).Error(); strings.Count(got, "deprecated") != 4 {
		t.Errorf("warnings:\n%s", got)
	}
	// The new keys win over the old.
	s = mustDecode(t, "kafka.bootstrap.servers = new:1", "brokerList = old:2", "kafka.topic = t2", "topic = t1",
		"flumeBatchSize = 9", "batchSize = 7", "kafka.producer.acks = all", "requiredAcks = 1").settings()
	if s.common.BootstrapServers != "new:1" || s.topic != "t2" || s.batchSize != 9 || s.producer["acks"] != "all" {
		t.Errorf("%+v", s)
	}
	// kafka.flumeBatchSize is used alone, loses to flumeBatchSize.
	if s := mustDecode(t, "kafka.bootstrap.servers = b:1", "kafka.flumeBatchSize = 33").settings(); s.batchSize != 33 {
		t.Errorf("kafka.flumeBatchSize alone: %d", s.batchSize)
	}
	s = mustDecode(t, "kafka.bootstrap.servers = b:1", "kafka.flumeBatchSize = 33", "flumeBatchSize = 44").settings()
	if s.batchSize != 44 || !strings.Contains(errors.Join(s.warnings...).Error(), "flumeBatchSize is set too and wins") {
		t.Errorf("both: %d %q", s.batchSize, s.warnings)
	}
}

func TestValidateNamesProperty(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{nil, "kafka.bootstrap.servers (command line): is required (or the deprecated brokerList)"},
		{[]string{"kafka.bootstrap.servers = nohost"}, `(f.conf:1): "nohost" is not host:port`},
		{[]string{"kafka.bootstrap.servers = b:1", "defaultPartitionId = x"}, `defaultPartitionId (f.conf:2): "x" is not a partition number`},
		{[]string{"kafka.bootstrap.servers = b:1", "defaultPartitionId = -1"}, `"-1" is not a partition number`},
		{[]string{"kafka.bootstrap.servers = b:1", "flumeBatchSize = -3"}, `flumeBatchSize (f.conf:2): "-3" must be at least 1`},
		{[]string{"kafka.bootstrap.servers = b:1", "kafka.producer.acks = 2"}, `kafka.producer.acks (f.conf:2): "2" is not one of`},
		{[]string{"kafka.bootstrap.servers = b:1", "header.host = "}, `header.host (f.conf:2): names no Kafka header`},
		{[]string{"kafka.bootstrap.servers = b:1", "topicHeader = "}, `topicHeader (f.conf:2): is empty`},
	} {
		_, errs := decode(t, tc.lines...)
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		if got := strings.Join(msgs, "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.lines, got, tc.want)
		}
	}
}

func TestProducerDefaultIsIdempotentAcksAll(t *testing.T) {
	cfg := mustDecode(t, "kafka.bootstrap.servers = b:9092", "kafka.topic = t")
	s, err := New(sluiceEnv(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if cl.OptValue(kgo.RequiredAcks) != kgo.AllISRAcks() || cl.OptValue(kgo.DisableIdempotentWrite) != false {
		t.Errorf("acks %v, idempotence disabled %v", cl.OptValue(kgo.RequiredAcks), cl.OptValue(kgo.DisableIdempotentWrite))
	}
}

func TestTopicSubstitution(t *testing.T) {
	h := map[string]string{"app": "web", "env": "prod"}
	for _, tc := range []struct{ tmpl, want string }{
		{"logs", "logs"},
		{"logs-%{app}", "logs-web"},
		{"%{env}.%{app}.raw", "prod.web.raw"},
		{"x-%{missing}-y", "x--y"},
		{"broken-%{app", "broken-%{app"},
	} {
		tt := parseTopic(tc.tmpl)
		if got := tt.expand(h); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func maker(t *testing.T, lines ...string) *recordMaker {
	t.Helper()
	cfg := mustDecode(t, append([]string{"kafka.bootstrap.servers = b:1"}, lines...)...)
	return newRecordMaker(cfg, cfg.settings())
}

func TestRecordFromEvent(t *testing.T) {
	m := maker(t, "kafka.topic = logs-%{app}", "header.host = origin", "header.app = application", "timestampHeader = ts")
	var buf []byte
	e := &sluice.Event{Headers: map[string]string{"app": "web", "host": "h1", "key": "k1", "ts": "1700000000123"}, Body: []byte("body")}
	r, err := m.record(context.Background(), e, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "logs-web" || string(r.Key) != "k1" || string(r.Value) != "body" || !r.Timestamp.Equal(time.UnixMilli(1700000000123)) || manual(r) {
		t.Errorf("record %+v", r)
	}
	if len(r.Headers) != 2 || r.Headers[0].Key != "application" || string(r.Headers[0].Value) != "web" || r.Headers[1].Key != "origin" || string(r.Headers[1].Value) != "h1" {
		t.Errorf("headers %+v", r.Headers)
	}
	// The topic header overrides; no key header, no key; a bad timestamp
	// is counted and left unset.
	r, _ = m.record(context.Background(), &sluice.Event{Headers: map[string]string{"topic": "other", "ts": "soon"}}, &buf)
	if r.Topic != "other" || r.Key != nil || !r.Timestamp.IsZero() || m.badTimestamps != 1 || len(r.Headers) != 0 {
		t.Errorf("record %+v, bad timestamps %d", r, m.badTimestamps)
	}
	// Without allowTopicOverride the topic is kafka.topic as written.
	m2 := maker(t, "kafka.topic = logs-%{app}", "allowTopicOverride = false")
	r, _ = m2.record(context.Background(), e, &buf)
	if r.Topic != "logs-%{app}" {
		t.Errorf("topic %q", r.Topic)
	}
}

func TestPartitionHeader(t *testing.T) {
	m := maker(t, "partitionIdHeader = p", "defaultPartitionId = 2")
	var buf []byte
	for _, tc := range []struct {
		h    map[string]string
		want int32
		bad  bool
	}{
		{nil, 2, false},
		{map[string]string{"p": "5"}, 5, false},
		{map[string]string{"p": " 0 "}, 0, false},
		{map[string]string{"p": "x"}, 0, true},
		{map[string]string{"p": "-1"}, 0, true},
		{map[string]string{"p": "99999999999"}, 0, true},
	} {
		r, err := m.record(context.Background(), &sluice.Event{Headers: tc.h}, &buf)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "header p:") {
				t.Errorf("%v: err %v", tc.h, err)
			}
			continue
		}
		if err != nil || r.Partition != tc.want || !manual(r) {
			t.Errorf("%v: %v %+v", tc.h, err, r)
		}
	}
	// The partitioner keeps a chosen partition and hashes keys otherwise.
	tp := newPartitioner().ForTopic("t")
	r, _ := m.record(context.Background(), &sluice.Event{Headers: map[string]string{"p": "3"}}, &buf)
	if got := tp.Partition(r, 10); got != 3 || !tp.RequiresConsistency(r) {
		t.Errorf("manual partition %d", got)
	}
	keyed := &kgo.Record{Key: []byte("k"), Context: context.Background()}
	want := kgo.StickyKeyPartitioner(nil).ForTopic("t").Partition(keyed, 10)
	if got := tp.Partition(keyed, 10); got != want {
		t.Errorf("keyed record: %d, want murmur2's %d", got, want)
	}
}

func TestFlumeEventFormat(t *testing.T) {
	m := maker(t, "useFlumeEventFormat = true")
	var buf []byte
	events := []*sluice.Event{
		{Headers: map[string]string{"a": "1", "key": "k"}, Body: []byte("first")},
		{Body: []byte("second")},
	}
	var values [][]byte
	for _, e := range events {
		r, err := m.record(context.Background(), e, &buf)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, r.Value)
	}
	// Each value stays intact while buf grows for the next.
	for i, v := range values {
		back, err := kafkaclient.DecodeFlumeEvent(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(back.Body) != string(events[i].Body) || len(back.Headers) != len(events[i].Headers) || back.Headers["a"] != events[i].Headers["a"] {
			t.Errorf("event %d: %+v", i, back)
		}
	}
}

func TestSecretsNotInSinkErrors(t *testing.T) {
	const pw = "Hunter2Secret"
	_, errs := decode(t, "kafka.bootstrap.servers = b:1", "kafka.producer.security.protocol = SASL_SSL",
		"kafka.producer.sasl.mechanism = PLAIN", `kafka.producer.sasl.jaas.config = x required password="`+pw,
		"kafka.producer.ssl.truststore.location = /nonexistent", "kafka.producer.ssl.truststore.password = "+pw)
	if len(errs) == 0 {
		t.Fatal("no error")
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), pw) {
			t.Errorf("secret in %v", e)
		}
	}
}

func TestStopWithoutStartAndDeliverAfterStop(t *testing.T) {
	s, err := New(sluiceEnv(), mustDecode(t, "kafka.bootstrap.servers = 127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), []*sluice.Event{{}}); err == nil {
		t.Fatal("delivered without a client")
	}
}

func sluiceEnv() sluice.Env {
	return sluice.Env{Name: "k1", Logger: slogDiscard(), SinkCounters: sluice.NewSinkCounters()}
}

func TestClassify(t *testing.T) {
	events := make([]*sluice.Event, 6)
	for i := range events {
		events[i] = &sluice.Event{Body: []byte("0123456789")}
	}
	topics := []string{"a", "b", "c", "d", "e", "f"}
	errs := []error{
		nil,
		fmt.Errorf("wrapped: %w", kerr.MessageTooLarge),
		kgo.ErrRecordTimeout,
		fmt.Errorf("no partitions available after attempting to refresh metadata 5 times, last err: %w", kerr.UnknownTopicOrPartition),
		kerr.NotLeaderForPartition,
		errors.New("invalid record partitioning choice of 7 from 2 available"),
	}
	pre := []sluice.Rejection{{Index: 0, Reason: errors.New("bad header")}}
	retry, rejected, cause := classify(events, topics, errs, pre)
	if !slices.Equal(retry, []int{2, 4}) || !errors.Is(cause, kgo.ErrRecordTimeout) || !strings.Contains(cause.Error(), `topic "c"`) {
		t.Errorf("retry %v cause %v", retry, cause)
	}
	var got []string
	for _, r := range rejected {
		got = append(got, fmt.Sprintf("%d: %v", r.Index, r.Reason))
	}
	want := []string{"0: bad header", `1: topic "b": a record of 10 bytes is larger than`, `3: topic "d" does not exist and the brokers do not create it`, `5: topic "f" has no such partition`}
	if len(got) != len(want) {
		t.Fatalf("rejected %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("rejection %q, want %q...", got[i], want[i])
		}
	}
}

// TestWarningsAtTheirLine: deprecated keys and ignored kafka.producer.*
// keys are warnings placed at their property, as sluice check shows them.
func TestWarningsAtTheirLine(t *testing.T) {
	_, errs := decode(t, "brokerList = b:1", "kafka.topic = t", "kafka.producer.batch.size = 100", "kafka.producer.max.block.ms = 5")
	var got []string
	for _, e := range errs {
		if !e.Warning {
			t.Errorf("not a warning: %v", e)
		}
		got = append(got, e.Error())
	}
	want := []string{
		"a1.sinks.k1.brokerList (f.conf:1): is deprecated: use kafka.bootstrap.servers",
		"a1.sinks.k1.kafka.producer.batch.size (f.conf:3): is accepted and ignored",
		"a1.sinks.k1.kafka.producer.max.block.ms (f.conf:4): is accepted and ignored",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("got %q, want %q...", got[i], want[i])
		}
	}
}
