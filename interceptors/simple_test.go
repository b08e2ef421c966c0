package interceptors

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

func TestTimestamp(t *testing.T) {
	at := time.UnixMilli(1350611220123)
	cases := []struct {
		name string
		kv   []string
		in   *sluice.Event
		want string
	}{
		{"default header", nil, ev("x"), "timestamp=1350611220123"},
		{"overwrites by default", nil, ev("x", "timestamp", "5"), "timestamp=1350611220123"},
		{"preserveExisting keeps", []string{"preserveExisting", "true"}, ev("x", "timestamp", "5"), "timestamp=5"},
		{"preserveExisting adds when absent", []string{"preserveExisting", "true"}, ev("x", "a", "b"), "a=b timestamp=1350611220123"},
		{"headerName", []string{"headerName", "ts"}, ev("x"), "ts=1350611220123"},
		{"header, as the user guide spells it", []string{"header", "ts"}, ev("x"), "ts=1350611220123"},
		{"nil header map", nil, &sluice.Event{Body: []byte("x")}, "timestamp=1350611220123"},
	}
	for _, c := range cases {
		i := build(t, "timestamp", c.kv...).(*Timestamp)
		i.now = func() time.Time { return at }
		out := i.Intercept([]*sluice.Event{c.in})
		if len(out) != 1 || headersString(out[0].Headers) != c.want {
			t.Errorf("%s: got %q, want %q", c.name, headersString(out[0].Headers), c.want)
		}
	}
}

func TestTimestampUsesTheClock(t *testing.T) {
	i := build(t, "org.apache.flume.interceptor.TimestampInterceptor$Builder")
	before := time.Now().UnixMilli()
	batch := []*sluice.Event{ev("a"), ev("b")}
	i.Intercept(batch)
	after := time.Now().UnixMilli()
	for _, e := range batch {
		v, err := strconv.ParseInt(e.Headers["timestamp"], 10, 64)
		if err != nil || v < before || v > after {
			t.Fatalf("timestamp %q not in [%d, %d]", e.Headers["timestamp"], before, after)
		}
	}
	if len(i.Intercept(nil)) != 0 {
		t.Fatal("empty batch")
	}
}

func TestStatic(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		in   *sluice.Event
		want string
	}{
		// Flume's defaults: key "key", value "value", preserveExisting true.
		{"defaults", nil, ev("x"), "key=value"},
		{"defaults preserve", nil, ev("x", "key", "old"), "key=old"},
		{"user guide", []string{"key", "datacenter", "value", "NEW_YORK"}, ev("x"), "datacenter=NEW_YORK"},
		{"preserveExisting false overwrites", []string{"key", "dc", "value", "NY", "preserveExisting", "false"}, ev("x", "dc", "LA"), "dc=NY"},
		{"nil header map", []string{"key", "dc", "value", "NY"}, &sluice.Event{}, "dc=NY"},
	}
	for _, c := range cases {
		i := build(t, "static", c.kv...)
		out := i.Intercept([]*sluice.Event{c.in})
		if got := headersString(out[0].Headers); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	if s, ok := sluice.Lookup(sluice.KindInterceptor, "org.apache.flume.interceptor.StaticInterceptor$Builder"); !ok || s.Name != "static" {
		t.Fatal("static FQCN not registered")
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUID(t *testing.T) {
	i := build(t, "org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder")
	batch := []*sluice.Event{ev("a"), ev("b", "id", "keep-me"), ev("c"), {Body: []byte("nil headers")}}
	out := i.Intercept(batch)
	if len(out) != 4 {
		t.Fatalf("got %d events", len(out))
	}
	if out[1].Headers["id"] != "keep-me" {
		t.Errorf("preserveExisting defaults to true: got %q", out[1].Headers["id"])
	}
	seen := map[string]bool{}
	for _, k := range []int{0, 2, 3} {
		id := out[k].Headers["id"]
		if !uuidRe.MatchString(id) {
			t.Errorf("event %d: %q is not a version 4 UUID", k, id)
		}
		if seen[id] {
			t.Errorf("duplicate UUID %q", id)
		}
		seen[id] = true
	}

	i = build(t, "uuid", "headerName", "eventId", "prefix", "web1-", "preserveExisting", "false")
	e := ev("a", "eventId", "old")
	i.Intercept([]*sluice.Event{e})
	id := e.Headers["eventId"]
	if len(id) != len("web1-")+36 || id[:5] != "web1-" || !uuidRe.MatchString(id[5:]) {
		t.Errorf("got %q, want web1-<uuid>", id)
	}
}
