package http

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

type fixture struct {
	t    *testing.T
	src  *Source
	proc *sluicetest.Processor
	env  sluice.Env
	url  string
}

// start runs a source on a free loopback port with cfg's changes applied.
func start(t *testing.T, proc *sluicetest.Processor, change func(*Config)) *fixture {
	t.Helper()
	cfg := defaults()
	cfg.Bind, cfg.Port = "127.0.0.1", 0
	if change != nil {
		change(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if proc == nil {
		proc = sluicetest.NewProcessor()
	}
	env := sluicetest.SourceEnv("r1", proc)
	s, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error("stop:", err)
		}
	})
	scheme := "http"
	if cfg.tls().SSL {
		scheme = "https"
	}
	return &fixture{t: t, src: s, proc: proc, env: env, url: scheme + "://" + s.Addr().String() + "/"}
}

// do sends a request and returns the status and body of the answer.
func (f *fixture) do(method, contentType, body string) (int, string, http.Header) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return f.send(http.DefaultClient, req)
}

func (f *fixture) send(c *http.Client, req *http.Request) (int, string, http.Header) {
	f.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (f *fixture) counter(name string) int64 {
	return f.env.SourceCounters.Get(name).Load()
}

func TestJSONBatchIsCommittedThenAnswered200(t *testing.T) {
	f := start(t, nil, nil)
	body := `[{"headers":{"a":"1","n":42,"b":true,"gone":null},"body":"first"},
	          {"body":"second é"}, {"headers":{}}, {"body":7}]`
	status, msg, _ := f.do("POST", "application/json", body)
	if status != 200 || msg != "" {
		t.Fatalf("status %d %q, want 200 and no body", status, msg)
	}
	got := f.proc.Events()
	if len(got) != 4 {
		t.Fatalf("got %d events, want 4", len(got))
	}
	if h := got[0].Headers; len(h) != 3 || h["a"] != "1" || h["n"] != "42" || h["b"] != "true" {
		t.Errorf("event 0 headers %v", h)
	}
	for i, want := range []string{"first", "second é", "", "7"} {
		if string(got[i].Body) != want {
			t.Errorf("event %d body %q, want %q", i, got[i].Body, want)
		}
	}
	for name, want := range map[string]int64{"AppendBatchReceivedCount": 1, "AppendBatchAcceptedCount": 1,
		"EventReceivedCount": 4, "EventAcceptedCount": 4, "ChannelWriteFail": 0, "EventReadFail": 0} {
		if n := f.counter(name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
}

func TestGETIsHandledLikePOSTAndOtherMethodsAre405(t *testing.T) {
	f := start(t, nil, nil)
	if status, msg, _ := f.do("GET", "", `[{"body":"by get"}]`); status != 200 {
		t.Fatalf("GET: %d %q", status, msg)
	}
	if got := f.proc.Events(); len(got) != 1 || string(got[0].Body) != "by get" {
		t.Fatalf("GET events %v", got)
	}
	for _, m := range []string{"PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "PATCH"} {
		status, _, h := f.do(m, "", `[{"body":"no"}]`)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, POST" {
			t.Errorf("%s: status %d, Allow %q; want 405 and GET, POST", m, status, h.Get("Allow"))
		}
	}
	if n := len(f.proc.Events()); n != 1 {
		t.Errorf("%d events after refused methods, want 1", n)
	}
}

func TestMalformedJSONIs400WithWhatAndWhere(t *testing.T) {
	f := start(t, nil, nil)
	cases := []struct{ body, want string }{
		{``, "the body is empty"},
		{`{"body":"x"}`, "expected a JSON array of events at byte offset 0, found an object"},
		{`null`, "found null"},
		{`[{"body":"a"}, {"body":"b",}]`, "invalid JSON in event 1 (which starts at byte offset 15) at byte offset 27"},
		{`[{"body":"a"}, "text"]`, "event 1 (at byte offset 15): expected an object"},
		{`[{"body":"a"},{"body":"b"},{"headers":{"k":{"x":1}}}]`, `event 2 (at byte offset 27): headers: "k": expected a string, found an object`},
		{`[{"headers":[1],"body":"a"}]`, "event 0 (at byte offset 1): headers: expected an object of strings, found an array"},
		{`[{"body":{"x":1}}]`, "event 0 (at byte offset 1): body: expected a string, found an object"},
		{`[{"body":"a"} x]`, "at byte offset 14: invalid character 'x' after array element"},
		{`[{"body":"a"}`, "the body ends before the array of 1 event(s) is closed"},
		{`[{"body":"a"`, "the body ends inside event 0"},
		{`[{"body":"a"}] [1]`, "unexpected data after the array at byte offset 15"},
		{`[{'body':'single quotes'}]`, "invalid JSON in event 0 (which starts at byte offset 1) at byte offset 2"},
	}
	for _, c := range cases {
		status, msg, _ := f.do("POST", "application/json", c.body)
		if status != http.StatusBadRequest || !strings.Contains(msg, c.want) {
			t.Errorf("body %q: %d %q, want 400 containing %q", c.body, status, msg, c.want)
		}
	}
	if n := len(f.proc.Events()); n != 0 {
		t.Errorf("%d events from malformed bodies", n)
	}
	if n := f.counter("EventReadFail"); n != int64(len(cases)) {
		t.Errorf("EventReadFail = %d, want %d", n, len(cases))
	}
	if n := f.counter("AppendBatchReceivedCount"); n != 0 {
		t.Errorf("AppendBatchReceivedCount = %d, want 0", n)
	}
}

func TestFullChannelIs503AndNothingIsLost(t *testing.T) {
	f := start(t, nil, nil)
	f.proc.SetFail(fmt.Errorf("channel c1: no room: %w", sluice.ErrChannelFull))
	status, msg, h := f.do("POST", "", `[{"body":"a"},{"body":"b"}]`)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "1" || !strings.Contains(msg, "channel full") {
		t.Fatalf("full channel: %d %q Retry-After %q", status, msg, h.Get("Retry-After"))
	}
	f.proc.SetFail(nil)
	if status, msg, _ := f.do("POST", "", `[{"body":"a"},{"body":"b"}]`); status != 200 {
		t.Fatalf("retry: %d %q", status, msg)
	}
	if got := f.proc.Events(); len(got) != 2 || string(got[0].Body) != "a" || string(got[1].Body) != "b" {
		t.Fatalf("events after the retry: %v", got)
	}
	for name, want := range map[string]int64{"AppendBatchReceivedCount": 2, "AppendBatchAcceptedCount": 1,
		"EventReceivedCount": 4, "EventAcceptedCount": 2, "ChannelWriteFail": 1} {
		if n := f.counter(name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
}

type panicky struct{}

func (panicky) Intercept([]*sluice.Event) []*sluice.Event { panic("interceptor bug") }

func TestHandlerFailuresAre500(t *testing.T) {
	f := start(t, nil, nil)
	status, msg, _ := f.do("POST", "application/json; charset=ISO-8859-1", `[{"body":"x"}]`)
	if status != 500 || !strings.Contains(msg, `unsupported charset "ISO-8859-1"`) {
		t.Errorf("unsupported charset: %d %q", status, msg)
	}
	if n := f.counter("EventReadFail"); n != 1 {
		t.Errorf("EventReadFail = %d, want 1", n)
	}

	g := start(t, sluicetest.NewProcessorWith(panicky{}), nil)
	status, msg, _ = g.do("POST", "", `[{"body":"x"}]`)
	if status != 500 || !strings.Contains(msg, "unexpected error") {
		t.Errorf("panicking interceptor: %d %q", status, msg)
	}
	if n := g.counter("GenericProcessingFail"); n != 1 {
		t.Errorf("GenericProcessingFail = %d, want 1", n)
	}
	// The source still serves.
	status, _, _ = g.do("PUT", "", "")
	if status != 405 {
		t.Errorf("after the panic: %d", status)
	}
}

func TestCharsets(t *testing.T) {
	f := start(t, nil, nil)
	utf16be := func(s string) []byte { return encodeBody(utf16cs, s) } // with a BOM
	utf32be := func(s string) []byte { return encodeBody(utf32cs, s) }
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range []rune(s) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	doc := `[{"headers":{"h":"ü"},"body":"ça va"}]`
	for _, c := range []struct {
		cs   string
		body []byte
		want []byte
	}{
		{"UTF-8", []byte(doc), []byte("ça va")},
		{"utf-16", utf16be(doc), append([]byte{0xFE, 0xFF}, 0, 0xE7, 0, 'a', 0, ' ', 0, 'v', 0, 'a')},
		{"UTF-16", utf16le(doc), append([]byte{0xFE, 0xFF}, 0, 0xE7, 0, 'a', 0, ' ', 0, 'v', 0, 'a')},
		{"utf-32", utf32be(doc), []byte{0, 0, 0, 0xE7, 0, 0, 0, 'a', 0, 0, 0, ' ', 0, 0, 0, 'v', 0, 0, 0, 'a'}},
	} {
		before := len(f.proc.Events())
		status, msg, _ := f.do("POST", "application/json; charset="+c.cs, string(c.body))
		if status != 200 {
			t.Fatalf("%s: %d %q", c.cs, status, msg)
		}
		got := f.proc.Events()[before:]
		if len(got) != 1 || !bytes.Equal(got[0].Body, c.want) || got[0].Headers["h"] != "ü" {
			t.Errorf("%s: got %v, want body % x", c.cs, got, c.want)
		}
	}
}

func TestBodyLimitIs413(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.MaxBodySize = 1000 })
	big := `[{"body":"` + strings.Repeat("x", 2000) + `"}]`
	status, msg, _ := f.do("POST", "", big)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "larger than the 1000 bytes") {
		t.Errorf("with Content-Length: %d %q", status, msg)
	}
	// Chunked: no Content-Length, the limit applies while reading.
	req, _ := http.NewRequest("POST", f.url, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	status, msg, _ = f.send(http.DefaultClient, req)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "larger than the 1000 bytes") {
		t.Errorf("chunked: %d %q", status, msg)
	}
	if status, _, _ := f.do("POST", "", `[{"body":"small"}]`); status != 200 {
		t.Errorf("small body: %d", status)
	}
	if n := len(f.proc.Events()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// A client that sends part of a large body and stalls is dropped after the
// read timeout: its connection is closed, its goroutine ends and nothing it
// sent is kept.
func TestStalledClientIsDropped(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.ReadTimeout = 500 * time.Millisecond; c.MaxBodySize = 64 << 20 })
	base := runtime.NumGoroutine()
	c, err := net.Dial("tcp", f.src.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 20<<20)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i < 10; i++ {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("write MiB %d: %v", i, err)
		}
	}
	// Now stall. The source answers 408 and closes the connection.
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled request: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled request: status %d, want 408", resp.StatusCode)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Logf("reading the 408 body: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after the 408")
	}
	waitFor(t, "OpenConnectionCount back to 0", func() bool { return f.counter("OpenConnectionCount") == 0 })
	waitFor(t, "the connection's goroutines to end", func() bool { return runtime.NumGoroutine() <= base })
	if n := len(f.proc.Events()); n != 0 {
		t.Errorf("%d events from a dropped request", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With max-connections 1, a second client waits while the first is in the
// middle of a request; once the first's connection is idle (keep-alive,
// between requests) it is closed to serve the second, so that connections
// held without use cannot lock clients out.
func TestMaxConnections(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.MaxConnections = 1 })
	first, err := net.Dial("tcp", f.src.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// A request in progress: headers and half the body.
	fmt.Fprint(first, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n[{\"body\"")
	r1 := bufio.NewReader(first)
	time.Sleep(100 * time.Millisecond) // the server read the headers: the connection is active
	second, err := net.Dial("tcp", f.src.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fmt.Fprint(second, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n[{\"body\":\"2\"}]")
	r2 := bufio.NewReader(second)
	_ = second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if resp, err := http.ReadResponse(r2, nil); err == nil {
		t.Fatalf("second client served while the first's request held the only slot: %d", resp.StatusCode)
	}
	if n := f.counter("OpenConnectionCount"); n != 1 {
		t.Errorf("OpenConnectionCount = %d, want 1", n)
	}
	// The first request completes; its connection, now idle, makes room.
	fmt.Fprint(first, ":\"1\"}]")
	if resp, err := http.ReadResponse(r1, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first client: %v %v", resp, err)
	}
	_ = second.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(r2, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("second client after the first went idle: %v %v", resp, err)
	}
	_ = first.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := r1.ReadByte(); err == nil {
		t.Error("the first, idle connection was not closed to serve the second")
	}
	if got := f.proc.Events(); len(got) != 2 || string(got[0].Body) != "1" || string(got[1].Body) != "2" {
		t.Errorf("events %v", got)
	}
}

// Connections that never send a byte cannot lock a client out: with all of
// max-connections taken by them, a new client is served at once.
func TestIdleConnectionsDoNotLockOut(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.MaxConnections = 4 })
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", f.src.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	client := &http.Client{Timeout: 20 * time.Second}
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("POST", f.url, strings.NewReader(`[{"body":"x"}]`))
		req.Close = true // a new connection each time
		if code, _, _ := f.send(client, req); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if n := f.counter("OpenConnectionCount"); n > 4 {
		t.Errorf("OpenConnectionCount = %d over max-connections 4", n)
	}
}

func TestBlobHandlers(t *testing.T) {
	f := start(t, nil, func(c *Config) {
		c.Handler = handlerBlob
		c.HandlerProps = map[string]string{"maxBlobLength": "100"}
	})
	req, _ := http.NewRequest("POST", f.url+"path?host=web%201&host=ignored&k=v", strings.NewReader("raw\x00bytes"))
	req.Header.Set("Content-Type", "application/octet-stream")
	if status, msg, _ := f.send(http.DefaultClient, req); status != 200 {
		t.Fatalf("blob: %d %q", status, msg)
	}
	got := f.proc.Events()
	if len(got) != 1 || string(got[0].Body) != "raw\x00bytes" || got[0].Headers["host"] != "web 1" ||
		got[0].Headers["k"] != "v" || got[0].Headers["Content-Type"] != "application/octet-stream" {
		t.Fatalf("blob event %v %q", got[0].Headers, got[0].Body)
	}
	if status, _, _ := f.do("POST", "", strings.Repeat("y", 101)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("blob over maxBlobLength: %d, want 413", status)
	}

	g := start(t, nil, func(c *Config) {
		c.Handler = handlerBLOB
		c.HandlerProps = map[string]string{"mandatoryParameters": "a, b"}
	})
	status, msg, _ := g.do("POST", "text/plain", "x")
	if status != 500 || !strings.Contains(msg, `missing the mandatory query parameter "a"`) {
		t.Errorf("missing mandatory parameter: %d %q", status, msg)
	}
	req, _ = http.NewRequest("POST", g.url+"?a=1&b=2", strings.NewReader("body"))
	req.Header.Set("Content-Type", "text/plain")
	if status, msg, _ := g.send(http.DefaultClient, req); status != 200 {
		t.Fatalf("with parameters: %d %q", status, msg)
	}
	if got := g.proc.Events(); len(got) != 1 || got[0].Headers["a"] != "1" || got[0].Headers["Content-Type"] != "" {
		t.Errorf("BLOBHandler event %v", got[0].Headers)
	}
}

func TestNDJSON(t *testing.T) {
	f := start(t, nil, func(c *Config) { c.Handler = "ndjson" })
	body := "{\"headers\":{\"n\":\"1\"},\"body\":\"one\"}\r\n\n{\"body\":\"two\"}\n{\"body\":\"three\"}"
	if status, msg, _ := f.do("POST", "application/x-ndjson", body); status != 200 {
		t.Fatalf("ndjson: %d %q", status, msg)
	}
	got := f.proc.Events()
	if len(got) != 3 || string(got[0].Body) != "one" || got[0].Headers["n"] != "1" || string(got[2].Body) != "three" {
		t.Fatalf("events %v", got)
	}
	status, msg, _ := f.do("POST", "", "{\"body\":\"ok\"}\n{\"body\":\"bad\"\n")
	if status != 400 || !strings.Contains(msg, "line 2") {
		t.Errorf("bad line: %d %q", status, msg)
	}
	status, msg, _ = f.do("POST", "", "{\"body\":\"ok\"}\n[1]\n")
	if status != 400 || !strings.Contains(msg, "line 2: expected a JSON object") {
		t.Errorf("array line: %d %q", status, msg)
	}
	if n := len(f.proc.Events()); n != 3 {
		t.Errorf("%d events; a refused request must add none", n)
	}
}

func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestTLSWithKeystoreAndWithPEMFiles(t *testing.T) {
	stores := filepath.Join("..", "..", "internal", "tlsconf", "testdata")
	crt, err := os.ReadFile(filepath.Join(stores, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	jksPool := x509.NewCertPool()
	jksPool.AppendCertsFromPEM(crt)
	// server.pem holds the key and certificate of server.jks.
	certFile, keyFile, pemPool := filepath.Join(stores, "server.pem"), filepath.Join(stores, "server.pem"), jksPool

	for _, c := range []struct {
		name   string
		change func(*Config)
		pool   *x509.CertPool
	}{
		{"keystore", func(c *Config) {
			c.SSL, c.Keystore, c.KeystorePassword = true, filepath.Join(stores, "server.jks"), "changeit"
		}, jksPool},
		{"flume-1.8-spellings", func(c *Config) { // enableSSL, keystorePassword
			c.EnableSSL, c.Keystore, c.OldKeystorePassword = true, filepath.Join(stores, "server.jks"), "changeit"
		}, jksPool},
		{"pem", func(c *Config) { c.SSL, c.CertFile, c.KeyFile = true, certFile, keyFile }, pemPool},
		{"pem-tls12-only", func(c *Config) {
			c.SSL, c.CertFile, c.KeyFile, c.IncludeProtocols = true, certFile, keyFile, []string{"TLSv1.2"}
		}, pemPool},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := start(t, nil, c.change)
			req, _ := http.NewRequest("POST", f.url, strings.NewReader(`[{"body":"secure"}]`))
			resp, err := tlsClient(c.pool).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.TLS == nil {
				t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
			}
			if c.name == "pem-tls12-only" && resp.TLS.Version != tls.VersionTLS12 {
				t.Errorf("TLS version %x with include-protocols TLSv1.2", resp.TLS.Version)
			}
			if got := f.proc.Events(); len(got) != 1 || string(got[0].Body) != "secure" {
				t.Errorf("events %v", got)
			}
			// Plain HTTP to the TLS port gets no 200.
			if resp, err := http.Post("http://"+f.src.Addr().String()+"/", "", strings.NewReader(`[{"body":"plain"}]`)); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Error("plain HTTP accepted on the TLS port")
				}
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Handler = "com.example.MyHandler" }, `handler: "com.example.MyHandler" is not a handler`},
		{func(c *Config) { c.Handler = handlerBlob; c.HandlerProps = map[string]string{"maxBlobLength": "0"} }, "handler.maxBlobLength"},
		{func(c *Config) { c.HandlerProps = map[string]string{"maxBlobLength": "10"} }, "handler.maxBlobLength: not a property of handler"},
		{func(c *Config) { c.SSL = true }, "keystore"},
		{func(c *Config) { c.SSL, c.CertFile = true, "c.pem" }, "ssl.certFile and ssl.keyFile go together"},
		{func(c *Config) { c.CertFile, c.KeyFile = "c.pem", "k.pem" }, "only when ssl is true"},
		{func(c *Config) { c.IncludeProtocols = []string{"TLS1.2"} }, "include-protocols"},
		{func(c *Config) { c.MaxBodySize = 0 }, "max-body-size"},
		{func(c *Config) { c.MaxConnections = 0 }, "max-connections"},
		{func(c *Config) { c.ReadTimeout = 0 }, "read-timeout"},
		{func(c *Config) { c.Port = 70000 }, "port"},
	} {
		cfg := defaults()
		c.change(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}

func TestStopIsIdempotentAndSafeWithoutStart(t *testing.T) {
	s, err := New(sluicetest.SourceEnv("r1", sluicetest.NewProcessor()), defaults())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := start(t, nil, nil)
	addr := f.src.Addr().String()
	if err := f.src.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.src.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("still listening after Stop")
	}
}
