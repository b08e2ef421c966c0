package hbase

import (
	"context"
	"encoding/binary"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func decode(t *testing.T, lines ...string) (*Config, []*conf.Error) {
	t.Helper()
	cfg := defaults()
	props := []conf.Prop{
		{Key: "table", FullKey: "a1.sinks.k1.table", Value: "t", File: "f.conf", Line: 1},
		{Key: "columnFamily", FullKey: "a1.sinks.k1.columnFamily", Value: "cf", File: "f.conf", Line: 2},
	}
	for i, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		props = append(props, conf.Prop{Key: strings.TrimSpace(k), FullKey: "a1.sinks.k1." + strings.TrimSpace(k),
			Value: strings.TrimSpace(v), File: "f.conf", Line: i + 3})
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

// decodeErr returns the errors (not warnings) as one string.
func decodeErr(t *testing.T, lines ...string) string {
	t.Helper()
	_, errs := decode(t, lines...)
	var msgs []string
	for _, e := range errs {
		if !e.Warning {
			msgs = append(msgs, e.Error())
		}
	}
	return strings.Join(msgs, "\n")
}

func newSink(t *testing.T, lines ...string) *Sink {
	t.Helper()
	s, err := New(sluicetest.Env("k1"), mustDecode(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ev(body string, kv ...string) *sluice.Event {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return &sluice.Event{Headers: h, Body: []byte(body)}
}

// Flume's defaults, from SimpleHBase2EventSerializer, RegexHBase2EventSerializer
// and HBase2Sink.
func TestDefaultsAreFlumes(t *testing.T) {
	c := mustDecode(t)
	if c.BatchSize != 100 || c.ZnodeParent != "/hbase" || c.CoalesceIncrements || !c.EnableWal || c.Timeout != 60*time.Second {
		t.Errorf("sink defaults: %+v", c)
	}
	if c.PayloadColumn != "pCol" || c.IncrementColumn != "iCol" || c.RowPrefix != "default" || c.IncrementRow != "incRow" || c.Suffix != "uuid" {
		t.Errorf("simple serializer defaults: %+v", c)
	}
	if c.Regex != "(.*)" || c.ColNames != "payload" || c.RowKeyIndex != -1 || c.DepositHeaders || c.RegexIgnoreCase {
		t.Errorf("regex serializer defaults: %+v", c)
	}
	if c.serializerKind() != "simple" {
		t.Errorf("default serializer %q", c.serializerKind())
	}
}

func TestSerializerClassNames(t *testing.T) {
	for name, want := range map[string]string{
		simpleHBase: "simple", simpleAsync: "simple", simpleHBase2: "simple", "simple": "simple",
		regexHBase: "regex", regexHBase2: "regex", "regex": "regex",
	} {
		if got := mustDecode(t, "serializer = "+name).serializerKind(); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if msg := decodeErr(t, "serializer = com.example.MySerializer"); !strings.Contains(msg, `"com.example.MySerializer" is not a serializer`) {
		t.Errorf("custom class: %q", msg)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		lines []string
		want  string
	}{
		{[]string{"serializer = regex", "serializer.colNames = a,ROW_KEY", "serializer.regex = (a)(b)", "serializer.rowKeyIndex = 2"}, `serializer.rowKeyIndex (f.conf:6): "2" must be less than the number of colNames (2)`},
		{[]string{"serializer = regex", "serializer.colNames = a,b", "serializer.regex = (a)(b)", "serializer.rowKeyIndex = 0"}, `colNames must say ROW_KEY at index 0, not "a"`},
		{[]string{"serializer = regex", "serializer.regex = (?=x)(.*)"}, `Go's RE2`},
		{[]string{"serializer = regex", "serializer.charset = UTF-16"}, `"UTF-16" is not supported`},
		{[]string{"kerberosPrincipal = flume/host@REALM"}, "Kerberos is not supported"},
		{[]string{"kerberosKeytab = /etc/flume.keytab"}, "kerberosKeytab"},
		{[]string{"zookeeperQuorum = zk1:notaport"}, `zookeeperQuorum (f.conf:3): "zk1:notaport" is not host:port`},
		{[]string{"zookeeperQuorum = ,"}, "no ZooKeeper server"},
		{[]string{"znodeParent = hbase"}, `znodeParent (f.conf:3): "hbase" must start with /`},
		{[]string{"batchSize = 0"}, "batchSize"},
		{[]string{"timeout = 0"}, "timeout"},
	}
	for _, c := range cases {
		if msg := decodeErr(t, c.lines...); !strings.Contains(msg, c.want) {
			t.Errorf("%v: got %q, want %q in it", c.lines, msg, c.want)
		}
	}
	// The regex serializer's settings are not checked for the simple one.
	mustDecode(t, "serializer.rowKeyIndex = 5")
}

func TestQuorum(t *testing.T) {
	c := mustDecode(t, "zookeeperQuorum = zk1:2222, zk2 ,[::1]:2181")
	q, err := c.quorum()
	if err != nil || strings.Join(q, ",") != "zk1:2222,zk2:2181,[::1]:2181" {
		t.Fatalf("quorum %q %v", q, err)
	}
}

func TestWarnings(t *testing.T) {
	_, errs := decode(t, "async.zkClientPort = 2181", "serializer.suffix = millis")
	var ws []string
	for _, e := range errs {
		if e.Warning {
			ws = append(ws, e.Error())
		}
	}
	all := strings.Join(ws, "\n")
	if !strings.Contains(all, "asynchbase client settings are ignored") || !strings.Contains(all, `"millis" is not uuid, random, timestamp or nano: uuid is used`) {
		t.Errorf("warnings: %q", all)
	}
}

// The simple serializer: row rowPrefix+suffix with the body in payloadColumn,
// and incrementRow:incrementColumn + 1 (SimpleHBase2EventSerializer).
func TestSimpleSerializerRowKeys(t *testing.T) {
	cases := map[string]*regexp.Regexp{
		"uuid":      regexp.MustCompile(`^pre-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
		"random":    regexp.MustCompile(`^pre--?[0-9]+$`),
		"timestamp": regexp.MustCompile(`^pre1700000000123$`),
		"nano":      regexp.MustCompile(`^pre[0-9]+$`),
		"other":     regexp.MustCompile(`^pre-[0-9a-f]{8}-`),
	}
	for suffix, want := range cases {
		s := newSink(t, "serializer.rowPrefix = pre-", "serializer.suffix = "+suffix)
		if suffix == "timestamp" {
			s.cfg.RowPrefix = "pre"
			ser, _ := newSerializer(&s.cfg)
			ser.(*simpleSerializer).now = func() time.Time { return time.UnixMilli(1700000000123) }
			s.ser = ser
		}
		if suffix == "nano" {
			s.cfg.RowPrefix = "pre"
			s.ser, _ = newSerializer(&s.cfg)
		}
		ops, rej := s.plan([]*sluice.Event{ev("hello"), ev("world")})
		if len(rej) != 0 || len(ops) != 4 {
			t.Fatalf("%s: ops %d rejected %v", suffix, len(ops), rej)
		}
		for i, o := range ops[:2] {
			if !want.Match(o.row) || o.inc {
				t.Errorf("%s: row %q", suffix, o.row)
			}
			if got := string(o.values["cf"]["pCol"]); got != []string{"hello", "world"}[i] || len(o.values["cf"]) != 1 {
				t.Errorf("%s: cells %q", suffix, o.values)
			}
		}
		for i, o := range ops[2:] {
			if !o.inc || string(o.row) != "incRow" || binary.BigEndian.Uint64(o.values["cf"]["iCol"]) != 1 || o.events[0] != i {
				t.Errorf("%s: increment %+v", suffix, o)
			}
		}
		if suffix != "timestamp" && string(ops[0].row) == string(ops[1].row) {
			t.Errorf("%s: same row key twice: %q", suffix, ops[0].row)
		}
	}
}

func TestSimpleSerializerNanoGrows(t *testing.T) {
	a := nanoSuffix(nil)
	b := nanoSuffix(nil)
	x, _ := strconv.ParseInt(string(a), 10, 64)
	y, _ := strconv.ParseInt(string(b), 10, 64)
	if y < x || x <= 0 {
		t.Errorf("nano %d then %d", x, y)
	}
}

func TestSimpleSerializerEmptyColumns(t *testing.T) {
	s := newSink(t, "serializer.payloadColumn =", "serializer.incrementColumn = hits", "serializer.incrementRow = counters")
	ops, _ := s.plan([]*sluice.Event{ev("a")})
	if len(ops) != 1 || !ops[0].inc || string(ops[0].row) != "counters" || ops[0].values["cf"]["hits"] == nil {
		t.Errorf("no payload column: %+v", ops)
	}
	s = newSink(t, "serializer.incrementColumn =")
	ops, _ = s.plan([]*sluice.Event{ev("a")})
	if len(ops) != 1 || ops[0].inc {
		t.Errorf("no increment column: %+v", ops)
	}
}

func TestCoalesceIncrements(t *testing.T) {
	s := newSink(t, "coalesceIncrements = true", "serializer.payloadColumn =")
	ops, _ := s.plan([]*sluice.Event{ev("a"), ev("b"), ev("c")})
	if len(ops) != 1 || binary.BigEndian.Uint64(ops[0].values["cf"]["iCol"]) != 3 || len(ops[0].events) != 3 {
		t.Fatalf("coalesced: %+v", ops)
	}
	// Several columns of one row make one Increment.
	s.ser = multiInc{}
	ops, _ = s.plan([]*sluice.Event{ev("a"), ev("b")})
	if len(ops) != 2 {
		t.Fatalf("rows: %+v", ops)
	}
	for _, o := range ops {
		switch string(o.row) {
		case "r1":
			if binary.BigEndian.Uint64(o.values["cf"]["x"]) != 2 || binary.BigEndian.Uint64(o.values["cf"]["y"]) != 4 {
				t.Errorf("r1: %v", o.values)
			}
		case "r2":
			if binary.BigEndian.Uint64(o.values["cf"]["x"]) != 10 {
				t.Errorf("r2: %v", o.values)
			}
		default:
			t.Errorf("row %q", o.row)
		}
	}
}

// multiInc increments r1:x by 1, r1:y by 2 and r2:x by 5 per event.
type multiInc struct{}

func (multiInc) serialize(i int, e *sluice.Event, puts []put, incs []increment) ([]put, []increment, error) {
	return puts, append(incs,
		increment{event: i, row: []byte("r1"), qual: "x", by: 1},
		increment{event: i, row: []byte("r1"), qual: "y", by: 2},
		increment{event: i, row: []byte("r2"), qual: "x", by: 5}), nil
}

// The regex serializer (RegexHBase2EventSerializer): groups into colNames,
// the row key from a group or <millis>-<random>-<nonce>, headers as columns.
func TestRegexSerializer(t *testing.T) {
	s := newSink(t, "serializer = "+regexHBase2, `serializer.regex = ([^ ]+) ([^ ]+) (.*)`,
		"serializer.colNames = ROW_KEY,level,msg", "serializer.rowKeyIndex = 0", "serializer.depositHeaders = true")
	ops, rej := s.plan([]*sluice.Event{ev("k1 INFO hello\nworld", "host", "h1"), ev("nomatch"), ev("k2 WARN x")})
	if len(rej) != 0 || len(ops) != 2 {
		t.Fatalf("ops %+v rejected %v", ops, rej)
	}
	c := ops[0].values["cf"]
	if string(ops[0].row) != "k1" || string(c["level"]) != "INFO" || string(c["msg"]) != "hello\nworld" || string(c["host"]) != "h1" || len(c) != 3 {
		t.Errorf("first: %q %q", ops[0].row, c)
	}
	if string(ops[1].row) != "k2" || ops[1].events[0] != 2 {
		t.Errorf("second: %q %v", ops[1].row, ops[1].events)
	}

	// Generated row keys; the default regex (.*) and column payload.
	s = newSink(t, "serializer = regex")
	ops, _ = s.plan([]*sluice.Event{ev("a"), ev("b")})
	key := regexp.MustCompile(`^([0-9]{13})-([A-Za-z0-9]{10})-([0-9]+)$`)
	m0, m1 := key.FindStringSubmatch(string(ops[0].row)), key.FindStringSubmatch(string(ops[1].row))
	if m0 == nil || m1 == nil {
		t.Fatalf("row keys %q %q", ops[0].row, ops[1].row)
	}
	n0, _ := strconv.Atoi(m0[3])
	n1, _ := strconv.Atoi(m1[3])
	if m0[2] != m1[2] || n1 != n0+1 {
		t.Errorf("random part and nonce: %q %q", ops[0].row, ops[1].row)
	}
	if string(ops[0].values["cf"]["payload"]) != "a" {
		t.Errorf("payload: %q", ops[0].values)
	}
}

func TestRegexSerializerMatching(t *testing.T) {
	// matches(): the whole body; ignore case.
	s := newSink(t, "serializer = regex", "serializer.regex = (abc)", "serializer.regexIgnoreCase = true", "serializer.colNames = c")
	ops, _ := s.plan([]*sluice.Event{ev("ABC"), ev("abcd"), ev("xabc")})
	if len(ops) != 1 || string(ops[0].values["cf"]["c"]) != "ABC" {
		t.Errorf("ignore case / whole body: %+v", ops)
	}
	// Group count differs from colNames: not written.
	s = newSink(t, "serializer = regex", "serializer.regex = (a)(b)", "serializer.colNames = x")
	if ops, rej := s.plan([]*sluice.Event{ev("ab")}); len(ops) != 0 || len(rej) != 0 {
		t.Errorf("group count: %+v %v", ops, rej)
	}
	// A body that is not UTF-8 is read as Java reads it.
	s = newSink(t, "serializer = regex")
	ops, _ = s.plan([]*sluice.Event{{Body: []byte{'a', 0xff, 'b'}}})
	if got := string(ops[0].values["cf"]["payload"]); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// An unset group or an empty row key rejects the event; Deliver then sends
// nothing and hands the rest back.
func TestRegexRejectsAndDeliverHoldsBack(t *testing.T) {
	s := newSink(t, "serializer = regex", "serializer.regex = (a)?(b*)", "serializer.colNames = x,ROW_KEY", "serializer.rowKeyIndex = 1")
	_, rej := s.plan([]*sluice.Event{ev("b"), ev("ab"), ev("a")})
	if len(rej) != 2 || rej[0].Index != 0 || !errors.Is(rej[0].Reason, errGroupUnset) || rej[1].Index != 2 || !strings.Contains(rej[1].Reason.Error(), "row key") {
		t.Fatalf("rejected %v", rej)
	}
	err := s.Deliver(context.Background(), []*sluice.Event{ev("b"), ev("ab"), ev("a")})
	var de *sluice.DeliveryError
	if !errors.As(err, &de) || len(de.Rejected) != 2 || len(de.Retry) != 1 || de.Retry[0] != 1 {
		t.Fatalf("Deliver: %v", err)
	}
}

func TestUUIDSuffixUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := string(uuidSuffix(nil))
		if seen[k] || len(k) != 36 {
			t.Fatalf("uuid %q", k)
		}
		seen[k] = true
	}
}

func TestStartFailsFastWithoutZookeeperOnlyWarns(t *testing.T) {
	s := newSink(t, "zookeeperQuorum = 127.0.0.1:1")
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start with ZooKeeper away: %v", err)
	}
	if s.c.ConnectionFailed.Load() != 1 || s.c.ConnectionCreated.Load() != 1 {
		t.Errorf("ConnectionFailed %d, ConnectionCreated %d", s.c.ConnectionFailed.Load(), s.c.ConnectionCreated.Load())
	}
	if err := s.Stop(context.Background()); err != nil || s.c.ConnectionClosed.Load() != 1 {
		t.Errorf("Stop: %v, ConnectionClosed %d", err, s.c.ConnectionClosed.Load())
	}
}

// Flume's three HBase sink types, by short name and class, are this sink.
func TestFlumeTypesRegistered(t *testing.T) {
	for _, name := range []string{"hbase2", "hbase", "asynchbase", "HBase2",
		"org.apache.flume.sink.hbase2.HBase2Sink", "org.apache.flume.sink.hbase.HBaseSink",
		"org.apache.flume.sink.hbase.AsyncHBaseSink"} {
		if spec, ok := sluice.Lookup(sluice.KindSink, name); !ok || spec.Name != "hbase2" {
			t.Errorf("Lookup(%q) = %v, %v", name, spec, ok)
		}
	}
}

func TestEnableWalFalseSkipsWal(t *testing.T) {
	if s := newSink(t); len(s.opts) != 0 {
		t.Errorf("default: %d mutation options", len(s.opts))
	}
	if s := newSink(t, "enableWal = false"); len(s.opts) != 1 {
		t.Errorf("enableWal = false: %d mutation options", len(s.opts))
	}
}
