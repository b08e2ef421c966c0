package http

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
)

// endpoint is a real HTTP server that records every request and answers
// with scripted status codes (200 once the script is used up).
type endpoint struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	script []int
}

type request struct {
	method, contentType, accept, body string
}

func newEndpoint(t *testing.T, tlsOn bool, script ...int) *endpoint {
	e := &endpoint{script: script}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, request{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(b)})
		code := 200
		if len(e.script) > 0 {
			code, e.script = e.script[0], e.script[1:]
		}
		e.mu.Unlock()
		w.WriteHeader(code)
		if code >= 400 {
			io.WriteString(w, "scripted failure")
		}
	})
	if tlsOn {
		e.Server = httptest.NewTLSServer(h)
	} else {
		e.Server = httptest.NewServer(h)
	}
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) bodies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.got {
		out = append(out, r.body)
	}
	return out
}

type fixture struct {
	sink *Sink
	ch   *sluicetest.Channel
	env  sluice.Env
	loop *sinkloop.Loop
}

// newSink decodes props as the agent does and starts the sink over a
// channel holding bodies.
func newSink(t *testing.T, props map[string]string, bodies ...string) *fixture {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSink, "http")
	if !ok {
		t.Fatal("http sink not registered")
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sinks.k1." + k, Value: v})
	}
	if errs := conf.Decode(cfg, ps); len(errs) > 0 {
		t.Fatal(errs)
	}
	var events []*sluice.Event
	for _, b := range bodies {
		events = append(events, sluice.NewEvent([]byte(b)))
	}
	ch := sluicetest.NewChannel(events...)
	env := sluicetest.Env("k1")
	env.Channel = ch
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return &fixture{sink: s, ch: ch, env: env, loop: sluicetest.SinkLoop(env, s)}
}

// accepting2XX are the rules a Flume user sets so that 2XX means done.
func accepting2XX(endpoint string, more ...string) map[string]string {
	m := map[string]string{"endpoint": endpoint, "rollback.2XX": "false", "backoff.2XX": "false"}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

func (f *fixture) counter(name string) int64 { return f.env.SinkCounters.Get(name).Load() }

func TestOnePOSTPerEventWithFlumeHeaders(t *testing.T) {
	ep := newEndpoint(t, false)
	f := newSink(t, accepting2XX(ep.URL+"/in", "contentTypeHeader", "application/json", "acceptHeader", "*/*"),
		`{"a":1}`, "", "third")
	if _, err := f.loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.ch.Len() != 0 {
		t.Fatalf("%d events left in the channel", f.ch.Len())
	}
	ep.mu.Lock()
	got := ep.got
	ep.mu.Unlock()
	// The empty event is taken off the channel without a request, as in Flume.
	if len(got) != 2 || got[0].body != `{"a":1}` || got[1].body != "third" {
		t.Fatalf("endpoint got %+v", got)
	}
	for _, r := range got {
		if r.method != "POST" || r.contentType != "application/json" || r.accept != "*/*" {
			t.Errorf("request %+v", r)
		}
	}
	for name, want := range map[string]int64{"EventDrainSuccessCount": 3, "HttpResponse2XXCount": 2, "ConnectionCreatedCount": 1, "EventWriteFail": 0} {
		if n := f.counter(name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
}

// With Flume's defaults a 200 rolls the event back: it is sent again.
func TestFlumeDefaultsRollBackEven200(t *testing.T) {
	ep := newEndpoint(t, false)
	f := newSink(t, map[string]string{"endpoint": ep.URL}, "again")
	if _, err := f.loop.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "answered 200") {
		t.Fatalf("first attempt: %v, want a rollback on 200", err)
	}
	if _, err := f.loop.Process(context.Background()); err == nil {
		t.Fatal("second attempt committed")
	}
	if b := ep.bodies(); len(b) != 2 || b[0] != "again" || b[1] != "again" {
		t.Errorf("endpoint got %q", b)
	}
	if f.ch.Len() != 1 {
		t.Errorf("%d events in the channel, want the 1 rolled back", f.ch.Len())
	}
}

// The rules: exact code before class before default. 404 drops the event
// (rollback.4XX false), 503 retries it (rollback.503 true beats
// rollback.5XX false), 500 drops it; order is kept and nothing delivered
// is sent twice.
func TestStatusRules(t *testing.T) {
	ep := newEndpoint(t, false, 200, 404, 503, 200, 500, 200)
	f := newSink(t, accepting2XX(ep.URL, "rollback.4XX", "false", "backoff.4xx", "false",
		"rollback.5XX", "false", "backoff.5XX", "false", "rollback.503", "true"),
		"a", "b", "c", "d", "e")
	if _, err := f.loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	// a 200, b 404 dropped, c 503 retried, c 200, d 500 dropped, e 200.
	if b := ep.bodies(); strings.Join(b, ",") != "a,b,c,c,d,e" {
		t.Errorf("endpoint got %q", b)
	}
	if f.ch.Len() != 0 {
		t.Errorf("%d events left", f.ch.Len())
	}
	for name, want := range map[string]int64{"HttpResponse2XXCount": 3, "HttpResponse4XXCount": 1, "HttpResponse5XXCount": 2, "EventDrainSuccessCount": 5} {
		if n := f.counter(name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
}

// A backoff rule without rollback: the event is done, and the sink pauses
// before the next.
func TestBackoffWithoutRollback(t *testing.T) {
	ep := newEndpoint(t, false, 202, 200)
	f := newSink(t, map[string]string{"endpoint": ep.URL, "rollback.2XX": "false", "backoff.202": "true", "backoff.200": "false"}, "x", "y")
	if _, err := f.loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := ep.bodies(); strings.Join(b, ",") != "x,y" {
		t.Errorf("endpoint got %q", b)
	}
}

// The endpoint fails at the first event: the batch rolls back (so a
// failover group can move on) and nothing is lost.
func TestFailureRollsBackAndLosesNothing(t *testing.T) {
	ep := newEndpoint(t, false, 503)
	f := newSink(t, accepting2XX(ep.URL), "1", "2")
	if _, err := f.loop.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "scripted failure") {
		t.Fatalf("got %v, want the 503 with the endpoint's answer", err)
	}
	if f.ch.Len() != 2 || f.ch.Rollbacks != 1 {
		t.Fatalf("channel holds %d (rollbacks %d), want both back", f.ch.Len(), f.ch.Rollbacks)
	}
	if _, err := f.loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := ep.bodies(); strings.Join(b, ",") != "1,1,2" {
		t.Errorf("endpoint got %q", b)
	}
	if n := f.counter("EventWriteFail"); n != 1 {
		t.Errorf("EventWriteFail = %d, want 1", n)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f := newSink(t, accepting2XX("http://"+addr+"/", "connectTimeout", "1000"), "kept")
	if _, err := f.loop.Process(context.Background()); err == nil {
		t.Fatal("delivered to a closed port")
	}
	if f.ch.Len() != 1 || f.counter("ConnectionFailedCount") != 1 {
		t.Errorf("channel %d, ConnectionFailedCount %d", f.ch.Len(), f.counter("ConnectionFailedCount"))
	}
}

func TestBatchFormats(t *testing.T) {
	for _, format := range []string{"json", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			ep := newEndpoint(t, false)
			f := newSink(t, accepting2XX(ep.URL, "batchFormat", format), "one", "two é", "")
			f.ch.Add(&sluice.Event{Headers: map[string]string{"h": "v"}, Body: []byte("four")})
			if _, err := f.loop.Process(context.Background()); err != nil {
				t.Fatal(err)
			}
			ep.mu.Lock()
			got := ep.got
			ep.mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1 for the batch", len(got))
			}
			var evs []jsonEvent
			if format == "json" {
				if got[0].contentType != "application/json; charset=UTF-8" {
					t.Errorf("Content-Type %q", got[0].contentType)
				}
				if err := json.Unmarshal([]byte(got[0].body), &evs); err != nil {
					t.Fatalf("body %q: %v", got[0].body, err)
				}
			} else {
				if got[0].contentType != "application/x-ndjson" {
					t.Errorf("Content-Type %q", got[0].contentType)
				}
				for _, l := range strings.Split(strings.TrimSuffix(got[0].body, "\n"), "\n") {
					var e jsonEvent
					if err := json.Unmarshal([]byte(l), &e); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					evs = append(evs, e)
				}
			}
			if len(evs) != 4 || evs[1].Body != "two é" || evs[2].Body != "" || evs[3].Headers["h"] != "v" {
				t.Errorf("events %+v", evs)
			}
		})
	}
}

// A body that is not UTF-8 cannot travel in a JSON batch: it is rejected,
// which rolls the batch back unless a dead letter is set (the core's rule).
func TestBatchFormatRejectsBinaryBodies(t *testing.T) {
	ep := newEndpoint(t, false)
	f := newSink(t, accepting2XX(ep.URL, "batchFormat", "json"), "text")
	f.ch.Add(sluice.NewEvent([]byte{0xff, 0xfe}))
	_, err := f.loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Fatalf("got %v", err)
	}
	if f.ch.Len() != 2 {
		t.Errorf("%d events in the channel, want both back", f.ch.Len())
	}
}

func TestHTTPSWithATrustStore(t *testing.T) {
	ep := newEndpoint(t, true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ep.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newSink(t, accepting2XX(ep.URL, "truststore", ca, "truststore-type", "PEM"), "secure")
	if _, err := f.loop.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := ep.bodies(); len(b) != 1 || b[0] != "secure" {
		t.Errorf("endpoint got %q", b)
	}
	// Without the CA the endpoint's certificate is not trusted.
	g := newSink(t, accepting2XX(ep.URL), "refused")
	if _, err := g.loop.Process(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted endpoint: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"endpoint": "localhost:8080"}, "endpoint"},
		{map[string]string{"endpoint": "ftp://x/"}, "scheme must be http or https"},
		{map[string]string{"endpoint": "http://x/", "rollback.20X": "false"}, "rollback.20X"},
		{map[string]string{"endpoint": "http://x/", "backoff.200": "yes"}, `"yes" is not true or false`},
		{map[string]string{"endpoint": "http://x/", "connectTimeout": "0"}, "connectTimeout"},
		{map[string]string{"endpoint": "http://x/", "batchFormat": "xml"}, "batchFormat"},
		{map[string]string{"endpoint": "http://x/", "truststore": "/x", "truststore-type": "BKS"}, "truststore-type"},
	} {
		spec, _ := sluice.Lookup(sluice.KindSink, "http")
		cfg := spec.Config()
		var ps []conf.Prop
		for k, v := range c.props {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sinks.k1." + k, Value: v})
		}
		errs := conf.Decode(cfg, ps)
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%v: got %q, want an error containing %q", c.props, all, c.want)
		}
	}
}
