package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

func ev(body string, kv ...string) *sluice.Event {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return &sluice.Event{Headers: h, Body: []byte(body)}
}

func doc(t *testing.T, kind string, e *sluice.Event, now time.Time) string {
	t.Helper()
	ts, added, err := eventTime(e, now)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	appendDocument(&b, kind, e, ts, added)
	if !json.Valid(b.Bytes()) {
		t.Fatalf("not JSON: %s", b.Bytes())
	}
	return b.String()
}

// TestLogStashDocument: the fields and values Flume's
// ElasticSearchLogStashEventSerializer wrote.
func TestLogStashDocument(t *testing.T) {
	now := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	got := doc(t, "logstash", ev("hello", "timestamp", "1365000000123", "host", "h1", "source", "s", "type", "t", "src_path", "/p", "x", "y"), now)
	want := `{"@message":"hello","@timestamp":"2013-04-03T14:40:00.123Z","@source":"s","@type":"t","@source_host":"h1","@source_path":"/p",` +
		`"@fields":{"host":"h1","source":"s","src_path":"/p","timestamp":"1365000000123","type":"t","x":"y"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// No timestamp header: now, in @timestamp and @fields.timestamp (Flume's TimestampedEvent).
	got = doc(t, "logstash", ev(`{"a": [1, 2]}`, "@source", "mine", "source", "theirs"), now)
	want = `{"@message":{"a":[1,2]},"@timestamp":"2026-12-07T21:00:00.000Z","@fields":{"@source":"mine","source":"theirs","timestamp":"1796677200000"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// Not JSON after all, and not UTF-8: strings, with U+FFFD.
	got = doc(t, "logstash", ev("{broken \xff", "timestamp", "0"), now)
	want = `{"@message":"{broken ` + "\uFFFD" + `","@timestamp":"1970-01-01T00:00:00.000Z","@fields":{"timestamp":"0"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestDynamicDocument(t *testing.T) {
	got := doc(t, "dynamic", ev("b", "timestamp", "5", "j", `{"k":"v"}`), time.Now())
	want := `{"body":"b","j":{"k":"v"},"timestamp":"5"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestIndexName(t *testing.T) {
	e := ev("x", "timestamp", "1796677200000", "app", "web")
	ts, _, _ := eventTime(e, time.Now())
	for _, c := range []struct {
		prefix string
		daily  bool
		want   string
	}{
		{"flume", true, "flume-2026-12-07"},
		{"logs-%{app}", true, "logs-web-2026-12-07"},
		{"logs-%{app}-%{missing}", false, "logs-web-"},
		{"x%{unclosed", false, "x%{unclosed"},
	} {
		if got := indexName(c.prefix, c.daily, e, ts); got != c.want {
			t.Errorf("indexName(%q, %v) = %q, want %q", c.prefix, c.daily, got, c.want)
		}
	}
	// 23:59:59.999 on Dec 31st in UTC is still that day, whatever the local zone.
	ts, _, _ = eventTime(ev("", "@timestamp", "1798761599999"), time.Now())
	if got := indexName("f", true, nil, ts); got != "f-2026-12-31" {
		t.Errorf("got %q", got)
	}
	if _, _, err := eventTime(ev("", "timestamp", "yesterday"), time.Now()); err == nil || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Errorf("bad timestamp: %v", err)
	}
}

// TestClassify reads a bulk answer: 2xx done, 429/5xx retried, the rest
// rejected with the server's reason.
func TestClassify(t *testing.T) {
	body := `{"took":3,"errors":true,"items":[
{"index":{"_index":"i","status":201}},
{"index":{"_index":"i","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n]","caused_by":{"type":"number_format_exception","reason":"For input string: \"x\""}}}},
{"index":{"_index":"i","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
{"create":{"_index":"i","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
{"index":{"_index":"i","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary not active"}}}]}`
	sent := []int{0, 2, 3, 5, 6} // event 1 and 4 were not sent
	retry, cause, rej, err := classify([]byte(body), sent, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(retry) != 2 || retry[0] != 3 || retry[1] != 6 || !strings.Contains(cause.Error(), "queue full") {
		t.Errorf("retry %v cause %v", retry, cause)
	}
	if len(rej) != 2 || rej[0].Index != 2 || rej[1].Index != 5 ||
		!strings.Contains(rej[0].Reason.Error(), "status 400: mapper_parsing_exception: failed to parse field [n] (caused by number_format_exception") {
		t.Errorf("rejected %+v", rej)
	}
	_, _, rej, _ = classify([]byte(body), sent, true)
	if len(rej) != 1 {
		t.Errorf("with idempotent create a 409 is done: %+v", rej)
	}
	if _, _, _, err := classify([]byte(`{"errors":true,"items":[]}`), sent, false); err == nil {
		t.Error("fewer items than documents: no error")
	}
	if _, _, _, err := classify([]byte(`{"error":"not a bulk answer"}`), sent, false); err == nil {
		t.Error("an answer without errors: no error")
	}
	if r, c, rj, err := classify([]byte(`{"errors":false,"items":[{"index":{"status":201}}]}`), []int{0}, false); r != nil || c != nil || rj != nil || err != nil {
		t.Error("all indexed: not nil")
	}
}

func TestConfig(t *testing.T) {
	cfg := mustDecode(t, "hostNames = a:9300, https://b , c")
	hosts, _ := cfg.hosts()
	if strings.Join(hosts, " ") != "http://a:9300 https://b:9200 http://c:9200" {
		t.Errorf("hosts %v", hosts)
	}
	if cfg.IndexName != "flume" || cfg.BatchSize != 100 || cfg.serializerKind() != "logstash" || !cfg.daily() {
		t.Errorf("defaults %+v", cfg)
	}
	for _, c := range []struct {
		lines []string
		key   string
	}{
		{[]string{"hostNames = "}, "hostNames"},
		{[]string{"hostNames = ftp://x"}, "hostNames"},
		{[]string{"hostNames = x", "serializer = com.example.Mine"}, "serializer"},
		{[]string{"hostNames = x", "compression = zstd"}, "compression"},
		{[]string{"hostNames = x", "password = p"}, "password"},
		{[]string{"hostNames = http://u:secretpw@x"}, "hostNames"},
	} {
		_, errs := decode(t, c.lines...)
		found := false
		for _, e := range errs {
			if !e.Warning && strings.Contains(e.Error(), c.key) {
				found = true
			}
			if strings.Contains(e.Error(), "secretpw") {
				t.Errorf("the password shows: %v", e)
			}
		}
		if !found {
			t.Errorf("%v: no error about %s: %v", c.lines, c.key, errs)
		}
	}
	if _, errs := decode(t, "hostNames = es1:9300"); len(errs) != 1 || !errs[0].Warning || !strings.Contains(errs[0].Error(), "transport port") {
		t.Errorf("port 9300: %v", errs)
	}
	cfg, errs := decode(t, "hostNames = x", "ttl = 5d", "serializer = "+dynamicClass, "indexNameBuilder = "+simpleNameBuilder)
	if len(errs) != 1 || !errs[0].Warning || !strings.Contains(errs[0].Error(), "ttl") {
		t.Errorf("ttl: %v", errs)
	}
	if cfg.serializerKind() != "dynamic" || cfg.daily() {
		t.Errorf("%+v", cfg)
	}
}

// TestServerDown: nothing listens: a retryable error naming the server.
func TestServerDown(t *testing.T) {
	cfg := mustDecode(t, "hostNames = 127.0.0.1:1")
	s, err := New(sluicetest.Env("k1"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	err = s.Deliver(context.Background(), []*sluice.Event{ev("x")})
	var de *sluice.DeliveryError
	if err == nil || sluice.IsPermanent(err) || errors.As(err, &de) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("err = %v", err)
	}
}
