package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/kafkaclient"
	"github.com/sluiceio/sluice/sluicetest"
)

func decode(t testing.TB, kv ...string) (*Config, []*conf.Error) {
	t.Helper()
	var props []conf.Prop
	for i := 0; i+1 < len(kv); i += 2 {
		props = append(props, conf.Prop{Key: kv[i], FullKey: "a1.channels.c1." + kv[i], Value: kv[i+1], File: "t.conf", Line: i/2 + 1})
	}
	cfg := DefaultConfig()
	return cfg, conf.Decode(cfg, props)
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
	cfg, errs := decode(t, "kafka.bootstrap.servers", "localhost:9092")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if cfg.Topic != "flume-channel" || cfg.GroupID != "flume" || !cfg.ParseAsFlumeEvent || cfg.PollTimeout != 500*time.Millisecond {
		t.Errorf("defaults: %+v", cfg)
	}
	if p, err := cfg.defaultPartition(); p != -1 || err != nil {
		t.Errorf("defaultPartition = %d, %v; want unset", p, err)
	}
	if got := cfg.producerProps()["acks"]; got != "all" {
		t.Errorf("producer acks = %q, want all (Flume's channel code default)", got)
	}
	if got := cfg.consumerProps()["auto.offset.reset"]; got != "earliest" {
		t.Errorf("consumer auto.offset.reset = %q, want earliest (Flume's channel code default)", got)
	}
	if got := cfg.consumerProps()["partition.assignment.strategy"]; !strings.HasPrefix(got, "org.apache.kafka.clients.consumer.RangeAssignor,") {
		t.Errorf("partition.assignment.strategy = %q; want range first, so Flume 1.11's consumers can join the group", got)
	}
}

func TestConfigReadsFlumeSpellings(t *testing.T) {
	cfg, errs := decode(t,
		"kafka.bootstrap.servers", "k1:9092,k2:9093",
		"topic", "old-topic", // deprecated spelling
		"pollTimeout", "250", // the user guide's spelling
		"parseAsFlumeEvent", "false",
		"defaultPartitionId", "3",
		"partitionIdHeader", "p",
		"migrateZookeeperOffsets", "false",
		"kafka.producer.acks", "1",
		"kafka.consumer.auto.offset.reset", "latest",
		"kafka.consumer.group.id", "new-group",
	)
	if len(errorsOnly(errs)) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if cfg.Topic != "old-topic" || cfg.PollTimeout != 250*time.Millisecond || cfg.ParseAsFlumeEvent || cfg.PartitionIDHeader != "p" {
		t.Errorf("decoded: %+v", cfg)
	}
	// kafka.consumer.group.id is the channel's own property, not a pass-through.
	if cfg.GroupID != "new-group" {
		t.Errorf("group = %q", cfg.GroupID)
	}
	if _, ok := cfg.Consumer["group.id"]; ok {
		t.Errorf("group.id landed in the consumer pass-through: %v", cfg.Consumer)
	}
	if p, err := cfg.defaultPartition(); p != 3 || err != nil {
		t.Errorf("defaultPartition = %d, %v", p, err)
	}
	if cfg.producerProps()["acks"] != "1" || cfg.consumerProps()["auto.offset.reset"] != "latest" {
		t.Errorf("pass-through did not override the defaults: %v %v", cfg.producerProps(), cfg.consumerProps())
	}
	if got := strings.Join(cfg.Seeds(), " "); got != "k1:9092 k2:9093" {
		t.Errorf("seeds %q", got)
	}
}

func TestConfigDeprecatedGroupID(t *testing.T) {
	cfg, errs := decode(t, "kafka.bootstrap.servers", "k:9092", "groupId", "old-group")
	if len(errorsOnly(errs)) != 0 || cfg.GroupID != "old-group" {
		t.Errorf("groupId gave group %q, %v", cfg.GroupID, errs)
	}
}

func TestConfigReadSmallestOffset(t *testing.T) {
	cfg, errs := decode(t, "kafka.bootstrap.servers", "k:9092", "readSmallestOffset", "false")
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}
	if got := cfg.consumerProps()["auto.offset.reset"]; got != "latest" {
		t.Errorf("readSmallestOffset=false gave auto.offset.reset %q, want latest", got)
	}
	cfg, _ = decode(t, "kafka.bootstrap.servers", "k:9092", "readSmallestOffset", "false", "kafka.consumer.auto.offset.reset", "earliest")
	if got := cfg.consumerProps()["auto.offset.reset"]; got != "earliest" {
		t.Errorf("an explicit auto.offset.reset must win over readSmallestOffset: %q", got)
	}
}

func TestConfigErrorsNameTheProperty(t *testing.T) {
	cases := []struct {
		kv   []string
		want string
	}{
		{[]string{"kafka.topic", "t"}, "kafka.bootstrap.servers"},
		{[]string{"kafka.bootstrap.servers", "nohostport"}, "kafka.bootstrap.servers"},
		{[]string{"kafka.bootstrap.servers", "k:9092", "kafka.topic", " "}, "kafka.topic"},
		{[]string{"kafka.bootstrap.servers", "k:9092", "defaultPartitionId", "two"}, `defaultPartitionId (t.conf:2): "two" is not a partition number`},
		{[]string{"kafka.bootstrap.servers", "k:9092", "defaultPartitionId", "-1"}, "defaultPartitionId"},
		{[]string{"kafka.bootstrap.servers", "k:9092", "kafka.pollTimeout", "0"}, "kafka.pollTimeout"},
		{[]string{"kafka.bootstrap.servers", "k:9092", "readSmallestOffset", "yes"}, "readSmallestOffset"},
	}
	for _, tc := range cases {
		_, errs := decode(t, tc.kv...)
		errs = errorsOnly(errs)
		if len(errs) == 0 {
			t.Errorf("%v: no error", tc.kv)
			continue
		}
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if s := strings.Join(all, "\n"); !strings.Contains(s, tc.want) {
			t.Errorf("%v: errors %q do not name %q", tc.kv, s, tc.want)
		}
	}
}

func TestUnknownPropertyIsAWarning(t *testing.T) {
	_, errs := decode(t, "kafka.bootstrap.servers", "k:9092", "capacity", "1000")
	if len(errs) != 1 || !errs[0].Warning || !strings.Contains(errs[0].Error(), "capacity") {
		t.Errorf("capacity (which Flume's Kafka channel does not read) gave %v; want one warning", errs)
	}
}

func TestNewRejectsBadClientPropertiesWithoutSecrets(t *testing.T) {
	cfg, errs := decode(t, "kafka.bootstrap.servers", "k:9092",
		"kafka.producer.security.protocol", "SASL_PLAINTEXT",
		"kafka.producer.sasl.mechanism", "PLAIN",
		"kafka.producer.sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2-secret"`,
		"kafka.producer.acks", "most",
	)
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}
	_, err := New(env(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "kafka.producer.acks") {
		t.Fatalf("New: %v; want an error naming kafka.producer.acks", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the SASL password is in the error: %v", err)
	}
}

func env(t *testing.T) sluice.Env {
	return sluice.Env{Name: "c1", Logger: sluicetest.Logger(), ChannelCounters: sluice.NewChannelCounters()}
}

func TestToRecDecodesFlumeEventsAndKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BootstrapServers = "k:9092"
	c, err := New(env(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := &sluice.Event{Headers: map[string]string{"h": "v", "key": "old"}, Body: []byte("body")}
	r := c.toRec(&kgo.Record{Topic: "t", Partition: 2, Offset: 7, LeaderEpoch: 1, Key: []byte("k1"),
		Value: kafkaclient.EncodeFlumeEvent(nil, ev)})
	if string(r.ev.Body) != "body" || r.ev.Headers["h"] != "v" || r.ev.Headers["key"] != "k1" || len(r.ev.Headers) != 2 {
		t.Errorf("decoded %q %v; want body and headers, key header = the record key", r.ev.Body, r.ev.Headers)
	}
	if r.part.id != 2 || r.off != 7 || r.epoch != 1 {
		t.Errorf("position %d/%d/%d", r.part.id, r.off, r.epoch)
	}

	// Not a Flume event: handed out as it is, marked, never dropped.
	r = c.toRec(&kgo.Record{Value: []byte("\x07plain text")})
	if string(r.ev.Body) != "\x07plain text" || r.ev.Headers[decodeErrorHeader] == "" {
		t.Errorf("undecodable record gave %q %v", r.ev.Body, r.ev.Headers)
	}

	c.cfg.ParseAsFlumeEvent = false
	r = c.toRec(&kgo.Record{Value: []byte("raw")})
	if string(r.ev.Body) != "raw" || len(r.ev.Headers) != 0 {
		t.Errorf("parseAsFlumeEvent=false: %q %v", r.ev.Body, r.ev.Headers)
	}
}

func TestPutEncodesRecords(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BootstrapServers = "k:9092"
	cfg.PartitionIDHeader = "part"
	cfg.DefaultPartitionID = "1"
	c, err := New(env(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.running.Store(true) // Put stages only; nothing is sent before Commit
	tx := c.Begin().(*txn)
	evs := []*sluice.Event{
		{Headers: map[string]string{"key": "k", "part": "4"}, Body: []byte("a")},
		{Headers: map[string]string{"x": "y"}, Body: []byte("b")},
	}
	if err := tx.Put(evs); err != nil {
		t.Fatal(err)
	}
	if len(tx.puts) != 2 {
		t.Fatalf("%d records staged", len(tx.puts))
	}
	r0, r1 := tx.puts[0], tx.puts[1]
	if string(r0.Key) != "k" || r0.Partition != 4 || !isManual(r0) || r1.Key != nil || r1.Partition != 1 || !isManual(r1) {
		t.Errorf("records: key %q part %d, key %q part %d", r0.Key, r0.Partition, r1.Key, r1.Partition)
	}
	back, err := kafkaclient.DecodeFlumeEvent(r0.Value)
	if err != nil || string(back.Body) != "a" || back.Headers["part"] != "4" || back.Headers["key"] != "k" {
		t.Errorf("value decodes to %v, %v", back, err)
	}
	if got := c.cnt.EventPutAttempt.Load(); got != 2 {
		t.Errorf("EventPutAttemptCount %d", got)
	}

	err = tx.Put([]*sluice.Event{{Headers: map[string]string{"part": "x"}}})
	if err == nil || !strings.Contains(err.Error(), `header part (partitionIdHeader) "x"`) {
		t.Errorf("bad partition header: %v", err)
	}
	_ = tx.Rollback()

	c.cfg.ParseAsFlumeEvent = false
	c.manual, c.partition = false, -1
	tx = c.Begin().(*txn)
	_ = tx.Put(evs[1:])
	if string(tx.puts[0].Value) != "b" || isManual(tx.puts[0]) {
		t.Errorf("parseAsFlumeEvent=false wrote %q", tx.puts[0].Value)
	}
}

func TestManualPartitioner(t *testing.T) {
	p := manualPartitioner{kgo.StickyKeyPartitioner(nil)}.ForTopic("t")
	if got := p.Partition(&kgo.Record{Partition: 5, Context: manualCtx}, 8); got != 5 {
		t.Errorf("manual record went to %d", got)
	}
	// Unmarked records with a key hash as Kafka's default partitioner does:
	// the same key always goes to the same partition.
	a := p.Partition(&kgo.Record{Key: []byte("abc")}, 8)
	b := p.Partition(&kgo.Record{Key: []byte("abc")}, 8)
	if a != b || a < 0 || a >= 8 {
		t.Errorf("keyed records went to %d and %d", a, b)
	}
	if _, ok := p.(kgo.TopicPartitionerOnNewBatch); !ok {
		t.Error("the wrapper hides OnNewBatch from the sticky partitioner")
	}
}

func TestStartAndStopWithoutABroker(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BootstrapServers = "127.0.0.1:1" // nothing listens there
	cnt := sluice.NewChannelCounters()
	c, err := New(sluice.Env{Name: "c1", Logger: sluicetest.Logger(), ChannelCounters: cnt}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	tx := c.Begin()
	if evs, err := tx.Take(10); err != nil || len(evs) != 0 {
		t.Errorf("take without a broker: %v %v", evs, err)
	}
	_ = tx.Commit()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	tx = c.Begin()
	if err := tx.Put([]*sluice.Event{sluice.NewEvent([]byte("x"))}); err == nil {
		t.Error("put after Stop succeeded")
	}
	snap := cnt.Snapshot()
	if snap["ChannelSize"] != "0" || snap["ChannelCapacity"] != "0" || snap["ChannelFillPercentage"] != "1.7976931348623157E308" {
		t.Errorf("size gauges %v; want Flume's Kafka channel values", snap)
	}
	for _, k := range []string{"KafkaEventGetTimer", "KafkaEventSendTimer", "KafkaCommitTimer", "RollbackCount"} {
		if _, ok := snap[k]; !ok {
			t.Errorf("counter %s missing", k)
		}
	}
}

// An unreachable broker does not hold Start up; it is logged as an error
// naming the servers.
func TestUnreachableBrokerIsLogged(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BootstrapServers = "127.0.0.1:1"
	var buf sluicetest.LogBuf
	c, err := New(sluice.Env{Name: "c1", Logger: buf.Logger(), ChannelCounters: sluice.NewChannelCounters()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start took %v", d)
	}
	defer stopNow(t, c)
	deadline := time.Now().Add(kafkaclient.DefaultPingTimeout + 15*time.Second)
	for !strings.Contains(buf.String(), "level=ERROR") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged: %s", buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := buf.String(); !strings.Contains(s, `127.0.0.1:1`) || !strings.Contains(s, "cannot reach") {
		t.Errorf("the error does not say which servers cannot be reached: %s", s)
	}
	t.Logf("logged after %v: %s", time.Since(start), buf.String())
}

func stopNow(t testing.TB, c *Channel) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// With the brokers away, a commit of puts fails within
// kafka.producer.delivery.timeout.ms with an error saying so: the source
// gets its batch back.
func TestPutCommitFailsWhileTheBrokersAreAway(t *testing.T) {
	cfg, errs := decode(t, "kafka.bootstrap.servers", "127.0.0.1:1", "kafka.producer.delivery.timeout.ms", "1500")
	if len(errorsOnly(errs)) != 0 {
		t.Fatal(errs)
	}
	cnt := sluice.NewChannelCounters()
	c, err := New(sluice.Env{Name: "c1", Logger: sluicetest.Logger(), ChannelCounters: cnt}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopNow(t, c)
	tx := c.Begin()
	if err := tx.Put([]*sluice.Event{sluice.NewEvent([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	err = tx.Commit()
	if err == nil || !strings.Contains(err.Error(), `"flume-channel"`) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("commit: %v; want an error naming the topic and the brokers", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("rollback after a failed commit: %v", err)
	}
	if cnt.EventPutSuccess.Load() != 0 || cnt.EventPutAttempt.Load() != 1 {
		t.Errorf("put counters %v", cnt.Snapshot())
	}
	t.Log(err)
}
