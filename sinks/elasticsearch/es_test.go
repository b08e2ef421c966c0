package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/sluicetest/agenttest"
	"github.com/sluiceio/sluice/test/peers"
)

// TestNetcatElasticsearchExample runs examples/netcat-elasticsearch.conf
// (ports, index and dead-letter dir pointed at the test's): lines typed
// into netcat become documents of today's daily index as Flume's LogStash
// serializer built them.
func TestNetcatElasticsearchExample(t *testing.T) {
	s := needNode(t)
	index := newIndex(t)
	port := peers.FreePort(t)
	text := agenttest.SetProps(agenttest.Example(t, "netcat-elasticsearch.conf"),
		"a1.sources.r1.port", strconv.Itoa(port),
		"a1.sources.r1.bind", "127.0.0.1",
		"a1.sinks.k1.hostNames", strings.TrimPrefix(s.URL, "http://"),
		"a1.sinks.k1.indexName", index,
		"a1.sinks.k1.deadLetter.directory", t.TempDir())
	before := time.Now().UTC()
	agenttest.Run(t, text, sluicetest.Logger())
	var lines []string
	for i := 0; i < 300; i++ {
		lines = append(lines, fmt.Sprintf("line %03d", i))
	}
	netcatSend(t, "127.0.0.1:"+strconv.Itoa(port), lines)
	agenttest.WaitUntil(t, "300 documents", 2*time.Minute, func() bool { return count(t, index+"-*") == 300 })
	docs, err := s.Docs(context.Background(), index+"-*", 1000)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	var got []string
	for _, d := range docs {
		got = append(got, d["@message"].(string))
		fields := d["@fields"].(map[string]any)
		ms, err := strconv.ParseInt(fields["timestamp"].(string), 10, 64)
		if err != nil {
			t.Fatalf("@fields.timestamp: %v in %v", err, d)
		}
		ts := time.UnixMilli(ms).UTC()
		if d["@timestamp"] != ts.Format(timestampFormat) || d["_index"] != index+"-"+ts.Format("2006-01-02") || ts.Before(before.Truncate(time.Millisecond)) {
			t.Fatalf("document %v: @timestamp or index do not match the timestamp header %s", d, ts)
		}
		// The host interceptor's header (an IP by default) is @source_host.
		if d["@source_host"] == nil || d["@source_host"] != fields["host"] {
			t.Fatalf("document %v: no @source_host (host %s)", d, host)
		}
		if len(d) != 6 { // @message @timestamp @source_host @fields + _id _index
			t.Fatalf("document %v has other fields", d)
		}
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, lines) {
		t.Errorf("messages %v...", got[:5])
	}
}

// TestDocumentsAsFlume: events with fixed timestamps land in the daily
// index of their own day with the fields Flume's serializers gave them,
// through gzip bodies and with the other serializer.
func TestDocumentsAsFlume(t *testing.T) {
	s := needNode(t)
	index := newIndex(t)
	day1, day2 := int64(1796677200000), int64(1796677200000+86400000) // 2026-12-07 21:00 UTC, the next day
	events := []*sluice.Event{
		ev(`{"user":"ann","n":1}`, "timestamp", strconv.FormatInt(day1, 10), "source", "app", "type", "json", "src_path", "/var/log/a"),
		ev("plain text", "timestamp", strconv.FormatInt(day2, 10), "host", "h2", "eventId", "e2"),
	}
	for _, c := range []struct{ serializer, compression string }{{"logstash", "gzip"}, {dynamicClass, "none"}} {
		name := index + "-" + strings.ToLower(c.serializer[strings.LastIndex(c.serializer, ".")+1:])
		sink, _ := newSink(t, nil, "hostNames = "+s.URL, "indexName = "+name, "serializer = "+c.serializer, "compression = "+c.compression, "indexType = logs")
		if err := sink.Deliver(context.Background(), events); err != nil {
			t.Fatal(err)
		}
		for i, want := range map[int]string{0: name + "-2026-12-07", 1: name + "-2026-12-08"} {
			docs, err := s.Docs(context.Background(), want, 10)
			if err != nil || len(docs) != 1 {
				t.Fatalf("%s: %v, %v", want, docs, err)
			}
			d := docs[0]
			delete(d, "_id")
			delete(d, "_index")
			var wantDoc map[string]any
			ts, added, _ := eventTime(events[i], time.Now())
			raw := docJSON(c.serializer, events[i], ts, added)
			if err := json.Unmarshal([]byte(raw), &wantDoc); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d, wantDoc) {
				t.Errorf("%s: document\n%v\nwant\n%v", want, d, wantDoc)
			}
		}
	}
	// The LogStash layout, spelled out once against the server's copy.
	docs, _ := s.Docs(context.Background(), index+"-logstash-2026-12-07", 1)
	if len(docs) == 1 {
		d := docs[0]
		msg, _ := d["@message"].(map[string]any)
		if msg["user"] != "ann" || d["@timestamp"] != "2026-12-07T21:00:00.000Z" || d["@source"] != "app" || d["@type"] != "json" || d["@source_path"] != "/var/log/a" {
			t.Errorf("logstash document %v", d)
		}
	} else {
		t.Errorf("logstash index: %v", docs)
	}
}

func docJSON(serializer string, e *sluice.Event, ts time.Time, added bool) string {
	kind := "logstash"
	if serializer == dynamicClass {
		kind = "dynamic"
	}
	var b bytes.Buffer
	appendDocument(&b, kind, e, ts, added)
	return b.String()
}

// TestIDHeaderReplay: with idHeader, a batch delivered twice (a forced
// redelivery, as after a rollback) leaves exactly one document per event;
// likewise into a data stream (op_type create: the second create's 409
// counts as done), through an ingest pipeline.
func TestIDHeaderReplay(t *testing.T) {
	s := needNode(t)
	ctx := context.Background()
	index := newIndex(t)
	var events []*sluice.Event
	for i := 0; i < 500; i++ {
		events = append(events, ev(fmt.Sprintf("event %d", i), "eventId", fmt.Sprintf("id-%d", i), "timestamp", "1796677200000"))
	}
	sink, _ := newSink(t, nil, "hostNames = "+s.URL, "indexName = "+index, "idHeader = eventId")
	for round := 0; round < 2; round++ {
		if err := sink.Deliver(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, index+"-*"); n != len(events) {
		t.Errorf("after a replay: %d documents, want %d", n, len(events))
	}
	// Without idHeader the same replay duplicates: the test can tell.
	plain := newIndex(t)
	sink2, _ := newSink(t, nil, "hostNames = "+s.URL, "indexName = "+plain)
	for round := 0; round < 2; round++ {
		if err := sink2.Deliver(ctx, events[:10]); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, plain+"-*"); n != 20 {
		t.Errorf("without idHeader: %d documents, want 20", n)
	}

	// A data stream with a pipeline that tags each document.
	ds := newIndex(t)
	if err := s.Put(ctx, "/_ingest/pipeline/"+ds+"-p", `{"processors":[{"set":{"field":"tagged","value":"yes"}}]}`); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "/_index_template/"+ds, `{"index_patterns":["`+ds+`*"],"data_stream":{}}`); err != nil {
		t.Fatal(err)
	}
	sink3, _ := newSink(t, nil, "hostNames = "+s.URL, "indexName = "+ds, "idHeader = eventId", "dataStream = true", "pipeline = "+ds+"-p")
	for round := 0; round < 2; round++ {
		if err := sink3.Deliver(ctx, events[:50]); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if n := count(t, ds); n != 50 {
		t.Errorf("data stream after a replay: %d documents, want 50", n)
	}
	docs, err := s.Docs(ctx, ds, 1)
	if err != nil || len(docs) != 1 || docs[0]["tagged"] != "yes" || !strings.HasPrefix(docs[0]["_index"].(string), ".ds-"+ds) {
		t.Errorf("data stream document %v, %v", docs, err)
	}
}

// TestMappingConflictDeadLetter: documents whose @message the index maps as
// a number go to the dead-letter file with the server's reason; the rest
// are indexed and the flow goes on.
func TestMappingConflictDeadLetter(t *testing.T) {
	s := needNode(t)
	index := newIndex(t)
	if err := s.Put(context.Background(), "/_index_template/"+index, `{"index_patterns":["`+index+`-*"],"template":{"mappings":{"properties":{"@message":{"type":"long"}}}}}`); err != nil {
		t.Fatal(err)
	}
	port := peers.FreePort(t)
	dl := t.TempDir()
	text := agenttest.SetProps(agenttest.Example(t, "netcat-elasticsearch.conf"),
		"a1.sources.r1.port", strconv.Itoa(port),
		"a1.sources.r1.bind", "127.0.0.1",
		"a1.sinks.k1.hostNames", s.URL,
		"a1.sinks.k1.indexName", index,
		"a1.sinks.k1.deadLetter.directory", dl)
	agenttest.Run(t, text, sluicetest.Logger())
	var lines []string
	for i := 0; i < 200; i++ {
		if i%50 == 7 {
			lines = append(lines, fmt.Sprintf("not a number %d", i))
		} else {
			lines = append(lines, strconv.Itoa(i))
		}
	}
	netcatSend(t, "127.0.0.1:"+strconv.Itoa(port), lines)
	agenttest.WaitUntil(t, "196 documents", 2*time.Minute, func() bool { return count(t, index+"-*") == 196 })
	var records []map[string]any
	agenttest.WaitUntil(t, "4 dead letters", time.Minute, func() bool {
		records = nil
		files, _ := filepath.Glob(filepath.Join(dl, "*.jsonl"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var r map[string]any
				if json.Unmarshal([]byte(l), &r) == nil {
					records = append(records, r)
				}
			}
		}
		return len(records) == 4
	})
	for _, r := range records {
		if !strings.HasPrefix(r["body"].(string), "not a number") || !strings.Contains(r["reason"].(string), "mapper_parsing_exception") || !strings.Contains(r["reason"].(string), "status 400") {
			t.Errorf("dead letter %v", r)
		}
	}
}

// TestServerKilledMidStream: the node is killed (SIGKILL) while a seq
// source keeps producing, then started again: every event is indexed
// exactly once (uuid ids make redelivered batches idempotent).
func TestServerKilledMidStream(t *testing.T) {
	s := needNode(t)
	index := newIndex(t)
	const total = 20000
	text := `a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = ` + strconv.Itoa(total) + `
a1.sources.r1.batchSize = 100
a1.sources.r1.channels = c1
a1.sources.r1.interceptors = id
a1.sources.r1.interceptors.id.type = uuid
a1.channels.c1.type = memory
a1.channels.c1.capacity = 2000
a1.channels.c1.transactionCapacity = 200
a1.sinks.k1.type = elasticsearch
a1.sinks.k1.channel = c1
a1.sinks.k1.hostNames = ` + s.URL + `
a1.sinks.k1.indexName = ` + index + `
a1.sinks.k1.batchSize = 200
a1.sinks.k1.idHeader = id
a1.sinks.k1.requestTimeout = 5000
`
	a := agenttest.Run(t, text, sluicetest.Logger())
	c := a.Counters()["SINK.k1"]
	agenttest.WaitUntil(t, "the first documents", 2*time.Minute, func() bool { return c.Get("EventDrainSuccessCount").Load() >= 1000 })
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if n := c.Get("EventDrainSuccessCount").Load(); n >= total {
		t.Fatalf("all %d events were delivered before the kill: not mid-stream", n)
	}
	// The sink meets the outage: batches fail and stay in the channel.
	agenttest.WaitUntil(t, "failed batches", time.Minute, func() bool { return c.Get("EventWriteFail").Load() >= 2 })
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	agenttest.WaitUntil(t, "every event indexed", 4*time.Minute, func() bool { return count(t, index+"-*") >= total })
	time.Sleep(time.Second)
	if n := count(t, index+"-*"); n != total {
		t.Errorf("%d documents, want %d", n, total)
	}
}

// TestCredentialsAndTLS: an https proxy with basic auth in front of the
// node. A wrong password gives an error that says the credentials were
// refused, never shows the password, and keeps the events in the channel;
// the right one delivers them, with the CA from tls.caFile.
func TestCredentialsAndTLS(t *testing.T) {
	s := needNode(t)
	target, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	const user, pass, apiKey = "flume", "Right-Pw-9921", "a2V5LWlkOnNlY3JldC1rZXk="
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if r.Header.Get("Authorization") == "ApiKey "+apiKey {
			ok, u, p = true, user, pass
		}
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		rp.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	index := newIndex(t)
	var events []*sluice.Event
	for i := 0; i < 20; i++ {
		events = append(events, ev(strconv.Itoa(i), "timestamp", "1796677200000"))
	}
	const wrong = "Wrong-Pw-5517"
	var logs sluicetest.LogBuf
	sink, env := newSink(t, logs.Logger(), "hostNames = "+srv.URL, "indexName = "+index, "username = "+user, "password = "+wrong, "tls.caFile = "+ca)
	ch := sluicetest.NewChannel(events...)
	env.Channel, env.ChannelName = ch, "c1"
	loop := sluicetest.SinkLoop(env, sink)
	_, err := loop.Process(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "credentials refused") || !strings.Contains(err.Error(), `username "flume"`) {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(logs.String(), wrong) {
		t.Errorf("the password shows: %v\n%s", err, logs.String())
	}
	if ch.Len() != len(events) {
		t.Fatalf("%d events left in the channel, want %d", ch.Len(), len(events))
	}
	// Without the CA the server is not trusted.
	sink2, _ := newSink(t, nil, "hostNames = "+srv.URL, "indexName = "+index, "username = "+user, "password = "+pass)
	if err := sink2.Deliver(context.Background(), events); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("no CA: %v", err)
	}
	sink3, env3 := newSink(t, nil, "hostNames = "+srv.URL, "indexName = "+index, "username = "+user, "password = "+pass, "tls.caFile = "+ca, "compression = gzip")
	env3.Channel, env3.ChannelName = ch, "c1"
	if _, err := sluicetest.SinkLoop(env3, sink3).Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, index+"-*"); n != len(events) || ch.Len() != 0 {
		t.Errorf("%d documents, %d left in the channel", n, ch.Len())
	}
	// An API key: a wrong one is named as such (and not shown), the right one delivers.
	sink4, _ := newSink(t, nil, "hostNames = "+srv.URL, "indexName = "+index+"-key", "apiKey = not-"+apiKey, "tls.caFile = "+ca)
	if err := sink4.Deliver(context.Background(), events); err == nil || !strings.Contains(err.Error(), "check apiKey") || strings.Contains(err.Error(), apiKey) {
		t.Errorf("wrong API key: %v", err)
	}
	sink5, _ := newSink(t, nil, "hostNames = "+srv.URL, "indexName = "+index+"-key", "apiKey = "+apiKey, "tls.caFile = "+ca)
	if err := sink5.Deliver(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if n := count(t, index+"-key-*"); n != len(events) {
		t.Errorf("with the API key: %d documents", n)
	}
}
