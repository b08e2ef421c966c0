package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpCollector writes an agent with an http source on port, a memory
// channel of capacity events and a file_roll sink writing "{headers} body"
// lines into dir/out.
func httpCollector(t *testing.T, dir string, port, capacity int, extra string) string {
	t.Helper()
	return writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.http.HTTPSource
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = %d
a1.channels.c1.transactionCapacity = %d
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
a1.sinks.k1.sink.batchSize = %d
%s`, port, capacity, capacity, filepath.Join(dir, "out"), min(capacity, 100), extra))
}

type httpReply struct {
	status int
	body   string
	header http.Header
}

func httpDo(t *testing.T, c *http.Client, method, url, contentType, body string) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpReply{resp.StatusCode, string(b), resp.Header}
}

func waitMetric(t *testing.T, port int, comp, name, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := metrics(t, port)
		if m[comp][name] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s = %q, want %q (all: %v)", comp, name, m[comp][name], want, m[comp])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The example REST collector: several clients POST batches of 100 events;
// every event lands in the sink's files with its headers and the
// timestamp interceptor's header.
func TestHTTPCollectorExample(t *testing.T) {
	dir := t.TempDir()
	mport := freePort(t)
	p := startAgent(t, dir, example("http-collector.conf"),
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	const clients, batches, per = 4, 10, 100
	var wg sync.WaitGroup
	errs := make(chan string, clients*batches)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				var body bytes.Buffer
				body.WriteString("[")
				for i := 0; i < per; i++ {
					if i > 0 {
						body.WriteString(",")
					}
					fmt.Fprintf(&body, `{"headers":{"app":"shop","client":"%d"},"body":"c%d b%d e%03d"}`, c, c, b, i)
				}
				body.WriteString("]")
				resp, err := http.Post("http://127.0.0.1:44480/collect", "application/json", &body)
				if err != nil {
					errs <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Sprintf("client %d batch %d: status %d", c, b, resp.StatusCode)
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := clients * batches * per
	got := waitLines(t, filepath.Join(dir, "out", "http"), total, 30*time.Second)
	if len(got) != total {
		t.Fatalf("got %d lines, want %d", len(got), total)
	}
	seen := map[string]bool{}
	for _, l := range got {
		if !strings.Contains(l, "app=shop") || !strings.Contains(l, "timestamp=") {
			t.Fatalf("line without its headers: %q", l)
		}
		seen[l[strings.LastIndex(l, "} ")+2:]] = true
	}
	if len(seen) != total {
		t.Errorf("%d distinct events, want %d", len(seen), total)
	}
	waitMetric(t, mport, "SOURCE.r1", "AppendBatchAcceptedCount", strconv.Itoa(clients*batches))
	waitMetric(t, mport, "SOURCE.r1", "EventAcceptedCount", strconv.Itoa(total))
	if err := p.stop(); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
}

// Every status code the source answers, from the real binary, with the
// counters Flume keeps for them.
func TestHTTPSourceStatusCodes(t *testing.T) {
	dir := t.TempDir()
	port, mport := freePort(t), freePort(t)
	startAgent(t, dir, httpCollector(t, dir, port, 5, "a1.sources.r1.max-body-size = 1000\n"),
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	// The sink's directory becomes a plain file (it opens its file lazily),
	// so the sink cannot drain and the channel (capacity 5) fills up.
	out := filepath.Join(dir, "out")
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	if r := httpDo(t, nil, "POST", url, "application/json", `[{"headers":{"n":"1"},"body":"one"},{"body":"two"}]`); r.status != 200 || r.body != "" {
		t.Fatalf("POST: %d %q", r.status, r.body)
	}
	if r := httpDo(t, nil, "GET", url+"any/path", "", `[{"body":"three"}]`); r.status != 200 {
		t.Fatalf("GET: %d %q", r.status, r.body)
	}
	if r := httpDo(t, nil, "PUT", url, "", `[{"body":"x"}]`); r.status != 405 || r.header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d, Allow %q", r.status, r.header.Get("Allow"))
	}
	if r := httpDo(t, nil, "POST", url, "application/json", `[{"body":"a"}, {"body":"b" "c"}]`); r.status != 400 || !strings.Contains(r.body, "event 1 (which starts at byte offset 15) at byte offset 27") {
		t.Errorf("malformed: %d %q", r.status, r.body)
	}
	if r := httpDo(t, nil, "POST", url, "application/json", `[{"body":"`+strings.Repeat("x", 1000)+`"}]`); r.status != 413 {
		t.Errorf("over max-body-size: %d %q", r.status, r.body)
	}
	if r := httpDo(t, nil, "POST", url, "application/json; charset=latin1", `[{"body":"x"}]`); r.status != 500 || !strings.Contains(r.body, "latin1") {
		t.Errorf("unsupported charset: %d %q", r.status, r.body)
	}
	// 3 events in a channel of 5: three more do not fit.
	if r := httpDo(t, nil, "POST", url, "", `[{"body":"four"},{"body":"five"},{"body":"six"}]`); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("full channel: %d %q", r.status, r.body)
	}
	m := metrics(t, mport)["SOURCE.r1"]
	for name, want := range map[string]string{"AppendBatchReceivedCount": "3", "AppendBatchAcceptedCount": "2",
		"EventReceivedCount": "6", "EventAcceptedCount": "3", "ChannelWriteFail": "1", "EventReadFail": "3"} {
		if m[name] != want {
			t.Errorf("%s = %q, want %s", name, m[name], want)
		}
	}
	// The sink can write again: the channel drains and the retried batch is taken.
	os.Remove(out)
	os.Mkdir(out, 0o755)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := httpDo(t, nil, "POST", url, "", `[{"body":"four"},{"body":"five"},{"body":"six"}]`)
		if r.status == 200 {
			break
		}
		if r.status != 503 || time.Now().After(deadline) {
			t.Fatalf("retry: %d %q", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := waitLines(t, out, 6, 30*time.Second)
	want := []string{"{n=1} one", "{} two", "{} three", "{} four", "{} five", "{} six"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sink wrote %q, want %q", got, want)
	}
}

// The limits against slow and greedy clients, from the real binary: a
// client that sends 10 MB of a 20 MB body and stalls is answered 408 and
// dropped; one that never finishes its headers or idles between requests
// is disconnected.
func TestHTTPSourceLimits(t *testing.T) {
	dir := t.TempDir()
	port, mport := freePort(t), freePort(t)
	startAgent(t, dir, httpCollector(t, dir, port, 1000, `a1.sources.r1.max-body-size = 67108864
a1.sources.r1.read-timeout = 1000
a1.sources.r1.read-header-timeout = 1000
a1.sources.r1.idle-timeout = 1000
`), "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	t.Run("stalled body", func(t *testing.T) {
		c := dialRetry(t, addr)
		defer c.Close()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 20<<20)
		chunk := bytes.Repeat([]byte("y"), 1<<20)
		for i := 0; i < 10; i++ {
			if _, err := c.Write(chunk); err != nil {
				t.Fatalf("write MiB %d: %v", i, err)
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer to the stalled request: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 408 || !strings.Contains(string(body), "sent nothing") {
			t.Errorf("stalled body: %d %q", resp.StatusCode, body)
		}
		waitMetric(t, mport, "SOURCE.r1", "OpenConnectionCount", "0")
	})
	t.Run("unfinished headers", func(t *testing.T) {
		c := dialRetry(t, addr)
		defer c.Close()
		fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\n")
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("connection not closed by the source: %v", err)
		}
		waitMetric(t, mport, "SOURCE.r1", "OpenConnectionCount", "0")
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dialRetry(t, addr)
		defer c.Close()
		rawPost(c, `[{"body":"ka"}]`)
		r := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request: %v %v", resp, err)
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Fatalf("idle connection not closed by the source: %v", err)
		}
		waitMetric(t, mport, "SOURCE.r1", "OpenConnectionCount", "0")
	})
	got := waitLines(t, filepath.Join(dir, "out"), 1, 20*time.Second)
	if strings.Join(got, "|") != "{} ka" {
		t.Errorf("sink wrote %q", got)
	}
}

// max-connections: with two connections each in the middle of a request,
// a third client is not served until one of them closes. (Connections
// that only idle give their slot to a new client: see the unit test
// TestIdleConnectionsDoNotLockOut.)
func TestHTTPSourceMaxConnections(t *testing.T) {
	dir := t.TempDir()
	port, mport := freePort(t), freePort(t)
	startAgent(t, dir, httpCollector(t, dir, port, 1000, "a1.sources.r1.max-connections = 2\n"),
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c := dialRetry(t, addr)
		defer c.Close()
		// A request under way (headers sent, its body not yet) holds its slot.
		fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{\"body\":")
		held = append(held, c)
	}
	waitMetric(t, mport, "SOURCE.r1", "OpenConnectionCount", "2")
	third := dialRetry(t, addr)
	defer third.Close()
	rawPost(third, `[{"body":"third"}]`)
	r := bufio.NewReader(third)
	_ = third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if resp, err := http.ReadResponse(r, nil); err == nil {
		t.Fatalf("third client served (%d) while two connections held both slots", resp.StatusCode)
	}
	held[0].Close()
	_ = third.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third client after a slot freed: %v %v", resp, err)
	}
	got := waitLines(t, filepath.Join(dir, "out"), 1, 20*time.Second)
	if strings.Join(got, "|") != "{} third" {
		t.Errorf("sink wrote %q", got)
	}
}

// The blob and ndjson handlers from the real binary.
func TestHTTPSourceBlobAndNDJSON(t *testing.T) {
	for _, c := range []struct {
		handler, contentType, query, body string
		want                              []string
	}{
		{"org.apache.flume.sink.solr.morphline.BlobHandler", "text/plain", "?host=web1",
			"a whole\ndocument", []string{"{Content-Type=text/plain, host=web1} a whole", "document"}},
		{"ndjson", "application/x-ndjson", "",
			"{\"headers\":{\"k\":\"v\"},\"body\":\"one\"}\n{\"body\":\"two\"}\n", []string{"{k=v} one", "{} two"}},
	} {
		t.Run(c.handler, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			startAgent(t, dir, httpCollector(t, dir, port, 100, "a1.sources.r1.handler = "+c.handler+"\n"))
			r := httpDo(t, nil, "POST", fmt.Sprintf("http://127.0.0.1:%d/%s", port, c.query), c.contentType, c.body)
			if r.status != 200 {
				t.Fatalf("%d %q", r.status, r.body)
			}
			got := waitLines(t, filepath.Join(dir, "out"), len(c.want), 20*time.Second)
			if len(got) != len(c.want) {
				t.Fatalf("sink wrote %q, want %q", got, c.want)
			}
			for i, w := range c.want {
				// Headers print in map order: compare them as a set.
				if sortedHeaders(got[i]) != sortedHeaders(w) {
					t.Errorf("line %d: %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestHTTPSourceTLS(t *testing.T) {
	crt, err := os.ReadFile(filepath.Join(avroStores, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	jksPool := x509.NewCertPool()
	jksPool.AppendCertsFromPEM(crt)
	// The PEM key store holds the same key as server.jks, with the
	// certificate; it serves as both ssl.certFile and ssl.keyFile.
	pemFile := filepath.Join(avroStores, "server.pem")
	for _, c := range []struct {
		name, props string
		pool        *x509.CertPool
	}{
		{"keystore", fmt.Sprintf("a1.sources.r1.ssl = true\na1.sources.r1.keystore = %s\na1.sources.r1.keystore-password = changeit\na1.sources.r1.SslContextFactory.KeyStorePassword = changeit\n",
			filepath.Join(avroStores, "server.jks")), jksPool},
		{"pem", fmt.Sprintf("a1.sources.r1.ssl = true\na1.sources.r1.ssl.certFile = %s\na1.sources.r1.ssl.keyFile = %s\n", pemFile, pemFile), jksPool},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			port := freePort(t)
			p := startAgent(t, dir, httpCollector(t, dir, port, 100, c.props))
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool, ServerName: "localhost"}}}
			r := httpDo(t, client, "POST", fmt.Sprintf("https://127.0.0.1:%d/", port), "application/json", `[{"body":"over tls"}]`)
			if r.status != 200 {
				t.Fatalf("%d %q", r.status, r.body)
			}
			got := waitLines(t, filepath.Join(dir, "out"), 1, 20*time.Second)
			if len(got) != 1 || got[0] != "{} over tls" {
				t.Errorf("sink wrote %q", got)
			}
			if c.name == "keystore" {
				p.waitLog("SslContextFactory.KeyStorePassword", 10*time.Second) // named in the ignored-properties warning
			}
			if strings.Contains(p.out.String(), "changeit") {
				t.Error("the key store password appears in the agent's output")
			}
		})
	}
}

// rawPost writes a keep-alive POST request by hand.
func rawPost(c net.Conn, body string) {
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// sortedHeaders puts the "{k=v, k2=v2}" prefix of a header_and_text line in
// order.
func sortedHeaders(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	end := strings.Index(line, "}")
	if end < 0 {
		return line
	}
	hs := strings.Split(line[1:end], ", ")
	sort.Strings(hs)
	return "{" + strings.Join(hs, ", ") + line[end:]
}

// A two-tier HTTP hop with the real binary: tier 1 (netcat -> memory ->
// http sink) POSTs to tier 2 (http source -> memory -> file_roll). Tier 2
// starts only after tier 1 has taken events, so the sink first fails and
// retries; every line arrives once, in order, with tier 1's headers (json
// batches) or as raw bodies (one POST per event into a blob handler).
func TestHTTPTwoTierHop(t *testing.T) {
	for _, c := range []struct {
		name, sinkProps, sourceProps string
		line                         func(s string) string
	}{
		{"json-batches", "a1.sinks.k1.batchFormat = json\n", "",
			func(s string) string { return "{tier=one} " + s }},
		{"post-per-event", "a1.sinks.k1.contentTypeHeader = text/plain; charset=UTF-8\n",
			"a1.sources.r1.handler = org.apache.flume.sink.solr.morphline.BlobHandler\n",
			func(s string) string { return "{Content-Type=text/plain; charset=UTF-8} " + s }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir1, dir2 := t.TempDir(), t.TempDir()
			nport, hport := freePort(t), freePort(t)
			tier1 := writeConf(t, dir1, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.interceptors = i1
a1.sources.r1.interceptors.i1.type = static
a1.sources.r1.interceptors.i1.key = tier
a1.sources.r1.interceptors.i1.value = one
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = org.apache.flume.sink.http.HttpSink
a1.sinks.k1.channel = c1
a1.sinks.k1.endpoint = http://127.0.0.1:%d/events
a1.sinks.k1.connectTimeout = 1000
a1.sinks.k1.rollback.2XX = false
a1.sinks.k1.backoff.2XX = false
%s`, nport, hport, c.sinkProps))
			p1 := startAgent(t, dir1, tier1)
			sent := lines("hop", 300)
			wantAllOK(t, sendLines(t, fmt.Sprintf("127.0.0.1:%d", nport), sent), len(sent))
			// Tier 2 is not up yet: the sink's first batch fails and goes back.
			p1.waitLog("connection refused", 20*time.Second)

			startAgent(t, dir2, httpCollector(t, dir2, hport, 1000, c.sourceProps))
			got := waitLines(t, filepath.Join(dir2, "out"), len(sent), 60*time.Second)
			if len(got) != len(sent) {
				t.Fatalf("tier 2 wrote %d lines, want %d", len(got), len(sent))
			}
			for i, s := range sent {
				if got[i] != c.line(s) {
					t.Fatalf("line %d: %q, want %q", i, got[i], c.line(s))
				}
			}
		})
	}
}

// The two examples together: the edge relay forwards netcat lines over
// HTTP to the REST collector, with the host interceptor's header.
func TestHTTPRelayExample(t *testing.T) {
	collector, relay := t.TempDir(), t.TempDir()
	startAgent(t, collector, example("http-collector.conf"))
	startAgent(t, relay, example("http-relay.conf"))
	sent := lines("relayed", 250)
	wantAllOK(t, sendLines(t, "127.0.0.1:44481", sent), len(sent))
	got := waitLines(t, filepath.Join(collector, "out", "http"), len(sent), 30*time.Second)
	if len(got) != len(sent) {
		t.Fatalf("collector wrote %d lines, want %d", len(got), len(sent))
	}
	for i, s := range sent {
		if !strings.HasSuffix(got[i], "} "+s) || !strings.Contains(got[i], "host=") {
			t.Fatalf("line %d: %q, want the line %q with a host header", i, got[i], s)
		}
	}
}
