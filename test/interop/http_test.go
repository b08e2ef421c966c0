package interop

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/test/peers"
)

// httpCase is one request sent to Apache Flume's HTTP source and to
// Sluice's, with the status each answers and the events it makes when
// both accept it.
type httpCase struct {
	name, pipe, method, contentType, query string
	body                                   []byte
	flume, sluice                          int // expected status codes
	events                                 int // events made when both answer 200
}

func utf16Body(s string, littleEndian bool) []byte {
	out := []byte{0xFE, 0xFF}
	if littleEndian {
		out = []byte{0xFF, 0xFE}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if littleEndian {
			out = append(out, byte(u), byte(u>>8))
		} else {
			out = append(out, byte(u>>8), byte(u))
		}
	}
	return out
}

func utf32Body(s string) []byte {
	var out []byte
	for _, r := range s {
		out = append(out, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
	}
	return out
}

// httpHandlers are the HTTP source pipes of TestHTTPSourceAnswersAsFlume,
// by name: their handler properties (JSONHandler when nil).
var httpHandlers = map[string]map[string]string{
	"json":    nil,
	"lenient": nil,
	"blob":    {"handler": "org.apache.flume.source.http.BLOBHandler"},
	"blobm":   {"handler": "org.apache.flume.source.http.BLOBHandler", "handler.mandatoryParameters": "host"},
}

// httpSource is an HTTP source pipe's source on port.
func httpSource(name string, port int) map[string]string {
	return merge(map[string]string{"type": "http", "bind": "127.0.0.1", "port": fmt.Sprint(port)}, httpHandlers[name])
}

// planHTTPSource adds TestHTTPSourceAnswersAsFlume's pipes to the shared
// Flume agent: hs_<name>, http source → memory → file_roll avro_event.
func planHTTPSource(sp *sharedPlan) {
	sp.httpSrc = map[string]int{}
	for _, name := range sortedKeys(httpHandlers) {
		sp.httpSrc[name] = sp.port()
		sp.pipes = append(sp.pipes, pipe{name: "hs_" + name, batch: 100,
			source: httpSource(name, sp.httpSrc[name]), sink: avroEventRoll(sp.outDir("hs_"+name), 100)})
	}
}

// TestHTTPSourceAnswersAsFlume sends the same requests to Apache Flume
// 1.11's HTTP source and to Sluice's (each → memory → file_roll
// avro_event) and checks that both answer with the same status, but for the
// documented differences, and that both made the same events, byte for
// byte: JSONHandler with its charsets and coercions, and BLOBHandler with
// mandatory parameters.
func TestHTTPSourceAnswersAsFlume(t *testing.T) {
	dir := t.TempDir()
	smon := peers.FreePort(t)
	sp := planShared(t)
	ports := map[string]map[string]int{"flume": sp.httpSrc, "sluice": {}}
	var sluicePipes []pipe
	for _, name := range sortedKeys(httpHandlers) {
		ports["sluice"][name] = peers.FreePort(t)
		sluicePipes = append(sluicePipes, pipe{name: name, batch: 100,
			source: httpSource(name, ports["sluice"][name]), sink: avroEventRoll(outDir(dir, "sluice_"+name), 100)})
	}
	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf, monitorFlags(smon)...)
	sharedFlume(t)
	for name := range httpHandlers {
		sp.claim(t, "hs_"+name)
	}
	for _, side := range []string{"flume", "sluice"} {
		for _, p := range ports[side] {
			waitPorts(t, addr(p))
		}
	}

	js := func(s string) []byte { return []byte(s) }
	cases := []httpCase{
		{"array", "json", "POST", "application/json", "", js(`[{"headers":{"a":"1","ключ":"значение"},"body":"héllo"},{"body":"two"}]`), 200, 200, 2},
		{"get", "json", "GET", "application/json", "", js(`[{"body":"by get"}]`), 200, 200, 1},
		{"coerced", "json", "POST", "application/json", "", js(`[{"headers":{"n":42,"f":1.5,"b":true},"body":12}]`), 200, 200, 1},
		{"no-body-field", "json", "POST", "application/json", "", js(`[{"headers":{"only":"headers"}}]`), 200, 200, 1},
		{"utf-16", "json", "POST", "application/json; charset=UTF-16", "", utf16Body(`[{"headers":{"h":"ü"},"body":"ça va"}]`, false), 200, 200, 1},
		{"utf-16le", "json", "POST", "application/json; charset=utf-16", "", utf16Body(`[{"body":"little"}]`, true), 200, 200, 1},
		{"utf-32", "json", "POST", "application/json; charset=UTF-32", "", utf32Body(`[{"body":"wide 😀"}]`), 200, 200, 1},
		{"empty-array", "json", "POST", "application/json", "", js(`[]`), 200, 200, 0},
		{"syntax", "json", "POST", "application/json", "", js(`[{"body":"a"},{"body":}]`), 400, 400, 0},
		{"object", "json", "POST", "application/json", "", js(`{"body":"x"}`), 400, 400, 0},
		{"trailing", "json", "POST", "application/json", "", js(`[{"body":"a"}] x`), 400, 400, 0},
		{"charset", "json", "POST", "application/json; charset=ISO-8859-1", "", js(`[{"body":"x"}]`), 500, 500, 0},
		{"put", "json", "PUT", "application/json", "", js(`[{"body":"x"}]`), 405, 405, 0},
		// Documented differences.
		{"empty-body", "json", "POST", "application/json", "", nil, 500, 400, 0},
		{"head", "lenient", "HEAD", "application/json", "", js(`[{"body":"by head"}]`), 200, 405, 0},
		{"trace", "lenient", "TRACE", "", "", nil, 403, 405, 0},
		{"options", "lenient", "OPTIONS", "", "", nil, 403, 405, 0},
		{"delete", "lenient", "DELETE", "", "", nil, 405, 405, 0},
		{"single-quotes", "lenient", "POST", "application/json", "", js(`[{'body':'lenient'}]`), 200, 400, 0},
		{"blob-default", "blob", "POST", "text/plain", "?host=h1", js("raw blob"), 500, 200, 0},
		// BLOBHandler with a mandatory parameter.
		{"blob-params", "blobm", "POST", "text/plain", "?host=h1&x=2&x=3", js("blob with params"), 200, 200, 1},
		{"blob-missing", "blobm", "POST", "text/plain", "?x=1", js("no host"), 500, 500, 0},
	}
	want := map[string]int{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, side := range []string{"flume", "sluice"} {
				url := fmt.Sprintf("http://%s/%s", addr(ports[side][c.pipe]), c.query)
				req, err := http.NewRequest(c.method, url, bytes.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", c.contentType)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", side, err)
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				exp := c.flume
				if side == "sluice" {
					exp = c.sluice
				}
				if resp.StatusCode != exp {
					t.Errorf("%s answered %d, want %d: %.300s", side, resp.StatusCode, exp, msg)
				}
			}
		})
		if c.flume == 200 && c.sluice == 200 {
			want[c.pipe] += c.events
		}
	}
	for _, name := range []string{"json", "blobm"} {
		waitDrained(t, sp.mon, "k_hs_"+name, want[name], 30*time.Second)
		waitDrained(t, smon, "k_"+name, want[name], 30*time.Second)
		flumeEvents, sluiceEvents := readEvents(t, sp.outDir("hs_"+name)), readEvents(t, outDir(dir, "sluice_"+name))
		sameEvents(t, sluiceEvents, flumeEvents)
		t.Logf("%s: the same %d events from Flume and Sluice", name, len(flumeEvents))
	}
}

// TestHTTPSinkToFlume sends events through Sluice's HTTP sink to Apache
// Flume 1.11's HTTP source (→ memory → file_roll avro_event): in JSON
// batches to its JSONHandler (headers and UTF-8 text bodies arrive as
// sent), and one POST per event to its BLOBHandler (binary bodies arrive
// byte for byte; Flume's sink sends no headers). Empty bodies are not sent
// in the per-event mode, as Flume's sink does not send them.
// httpHop is one case of TestHTTPSinkToFlume: Sluice's avro source on
// sluiceIn → http sink → the shared Flume agent's http source on fl.
type httpHop struct {
	name          string
	sluiceIn, fl  int
	sinkProps     map[string]string
	flumeHandler  map[string]string
	n             int
	text, headers bool
}

func httpHops() []httpHop {
	return []httpHop{
		{name: "json", sinkProps: map[string]string{"batchFormat": "json", "batchSize": "500"}, n: 20_000, text: true, headers: true},
		{name: "perevent", sinkProps: map[string]string{"batchSize": "100", "contentTypeHeader": "application/octet-stream"},
			flumeHandler: map[string]string{"handler": "org.apache.flume.source.http.BLOBHandler", "handler.mandatoryParameters": "none"}, n: 2_000},
	}
}

// planHTTPSink adds TestHTTPSinkToFlume's pipes to the shared Flume agent:
// hk_<hop>, http source → memory → file_roll avro_event.
func planHTTPSink(sp *sharedPlan) {
	for _, h := range httpHops() {
		h.fl = sp.port()
		sp.httpSink = append(sp.httpSink, h)
		sp.pipes = append(sp.pipes, pipe{name: "hk_" + h.name, batch: 1000,
			source: merge(map[string]string{"type": "http", "bind": "127.0.0.1", "port": fmt.Sprint(h.fl)}, h.flumeHandler),
			sink:   avroEventRoll(sp.outDir("hk_"+h.name), 1000)})
	}
}

func TestHTTPSinkToFlume(t *testing.T) {
	dir := t.TempDir()
	smon := peers.FreePort(t)
	sp, _ := sharedFlume(t)
	hops := append([]httpHop(nil), sp.httpSink...)
	var sluicePipes []pipe
	for i := range hops {
		h := &hops[i]
		h.sluiceIn = peers.FreePort(t)
		endpoint := fmt.Sprintf("http://%s/events", addr(h.fl))
		if h.name == "perevent" {
			endpoint += "?none=x" // Flume's BLOBHandler needs one mandatory parameter
		}
		sluicePipes = append(sluicePipes, pipe{name: h.name, batch: 1000, source: avroSource(h.sluiceIn, nil),
			sink: merge(map[string]string{"type": "http", "endpoint": endpoint,
				"rollback.2XX": "false", "backoff.2XX": "false"}, h.sinkProps)})
	}
	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf, monitorFlags(smon)...)
	for _, h := range hops {
		waitPorts(t, addr(h.sluiceIn), addr(h.fl))
	}

	for _, h := range hops {
		t.Run(h.name, func(t *testing.T) {
			events := genEvents(seed(t), h.n)
			var want []peers.Event
			for i := range events {
				if h.text {
					events[i].Body = []byte(randText(rand.New(rand.NewPCG(uint64(i), 7)), 300, true))
				}
				w := events[i]
				if !h.headers {
					w.Headers = map[string]string{"none": "x"} // the query parameter
				}
				if h.name == "perevent" && len(w.Body) == 0 {
					continue
				}
				want = append(want, w)
			}
			sp.claim(t, "hk_"+h.name)
			sendAvroIPC(t, addr(h.sluiceIn), toSluice(events), 1000, avroipc.DialOptions{})
			waitDrained(t, smon, "k_"+h.name, len(events), time.Minute)
			waitDrained(t, sp.mon, "k_hk_"+h.name, len(want), time.Minute)
			sameEvents(t, readEvents(t, sp.outDir("hk_"+h.name)), want)
			t.Logf("%d events Sluice http sink (%s) → Flume http source, identical", len(want), h.name)
		})
	}
}
