package thrift

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	athrift "github.com/apache/thrift/lib/go/thrift"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/flumethrift/flume"
	"github.com/sluiceio/sluice/internal/tlsconf"
	"github.com/sluiceio/sluice/sluicetest"
)

const (
	wait   = 15 * time.Second
	stores = "../../internal/tlsconf/testdata/"
)

type fixture struct {
	src  *Source
	env  sluice.Env
	log  *sluicetest.LogBuf
	addr string
}

func decode(t testing.TB, props map[string]string) (*Config, []error) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.ThriftSource")
	if !ok {
		t.Fatal("thrift source not registered under its Flume class name")
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
	}
	var errs []error
	for _, e := range conf.Decode(cfg, ps) {
		errs = append(errs, e)
	}
	return cfg.(*Config), errs
}

// start builds the source from properties as a configuration file gives
// them and starts it on a free port.
func start(t testing.TB, proc *sluicetest.Processor, props map[string]string) *fixture {
	t.Helper()
	all := map[string]string{"bind": "127.0.0.1", "port": "0"}
	for k, v := range props {
		all[k] = v
	}
	cfg, errs := decode(t, all)
	for _, e := range errs {
		t.Fatalf("config: %v", e)
	}
	env := sluicetest.SourceEnv("r1", proc)
	lb := &sluicetest.LogBuf{}
	env.Logger = lb.Logger()
	src, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := src.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &fixture{src: src, env: env, log: lb, addr: src.Addr().String()}
}

func dial(t testing.TB, addr string, o flumethrift.DialOptions) *flumethrift.Client {
	t.Helper()
	c, err := flumethrift.Dial(context.Background(), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func events(n int, prefix string) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		body := append([]byte(prefix), 0, 0xff, byte(i))
		out[i] = &sluice.Event{Headers: map[string]string{"i": fmt.Sprint(i), "p": prefix}, Body: body}
	}
	return out
}

// Both protocols, with Sluice's client and with Apache Thrift's own
// generated client and framed transport, which share no encoding code.
func TestAppendBatchAndAppend(t *testing.T) {
	for _, p := range []flumethrift.Protocol{flumethrift.Compact, flumethrift.Binary} {
		t.Run(p.String(), func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			f := start(t, proc, map[string]string{"protocol": p.String()})
			c := dial(t, f.addr, flumethrift.DialOptions{Protocol: p})
			batch := append(events(10, "b"), &sluice.Event{Headers: map[string]string{}, Body: nil})
			if err := c.AppendBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			one := &sluice.Event{Headers: map[string]string{"one": "1"}, Body: []byte{0, 1, 2}}
			if err := c.Append(context.Background(), one); err != nil {
				t.Fatal(err)
			}

			// Apache Thrift's client.
			cfg := &athrift.TConfiguration{}
			sock := athrift.NewTSocketConf(f.addr, cfg)
			trans := athrift.NewTFramedTransportConf(sock, cfg)
			if err := trans.Open(); err != nil {
				t.Fatal(err)
			}
			defer trans.Close()
			var pf athrift.TProtocolFactory = athrift.NewTCompactProtocolFactoryConf(cfg)
			if p == flumethrift.Binary {
				pf = athrift.NewTBinaryProtocolFactoryConf(cfg)
			}
			ac := flume.NewThriftSourceProtocolClientFactory(trans, pf)
			st, err := ac.AppendBatch(context.Background(), []*flume.ThriftFlumeEvent{{Headers: map[string]string{"lib": "thrift"}, Body: []byte("from libthrift")}})
			if err != nil || st != flume.Status_OK {
				t.Fatalf("libthrift appendBatch: %v %v", st, err)
			}
			st, err = ac.Append(context.Background(), &flume.ThriftFlumeEvent{Headers: map[string]string{}, Body: []byte{}})
			if err != nil || st != flume.Status_OK {
				t.Fatalf("libthrift append: %v %v", st, err)
			}

			want := append(append([]*sluice.Event{}, batch...), one,
				&sluice.Event{Headers: map[string]string{"lib": "thrift"}, Body: []byte("from libthrift")},
				&sluice.Event{Headers: map[string]string{}, Body: []byte{}})
			sluicetest.SameEvents(t, proc.Events(), want)
			sc := f.env.SourceCounters
			if sc.AppendBatchReceived.Load() != 2 || sc.AppendBatchAccepted.Load() != 2 || sc.AppendReceived.Load() != 2 ||
				sc.AppendAccepted.Load() != 2 || sc.EventReceived.Load() != 14 || sc.EventAccepted.Load() != 14 ||
				sc.ChannelWriteFail.Load() != 0 || sc.OpenConnection.Load() != 2 {
				t.Errorf("counters: %v", sc.Snapshot())
			}
		})
	}
}

func TestChannelFailureAnswersFailed(t *testing.T) {
	proc := sluicetest.NewProcessor()
	proc.SetFail(sluicetest.ErrFull)
	f := start(t, proc, nil)
	c := dial(t, f.addr, flumethrift.DialOptions{})
	var se *flumethrift.StatusError
	if err := c.AppendBatch(context.Background(), events(5, "x")); !errors.As(err, &se) || se.Status != flume.Status_FAILED {
		t.Fatalf("appendBatch: got %v, want FAILED", err)
	}
	if err := c.Append(context.Background(), events(1, "y")[0]); !errors.As(err, &se) || se.Status != flume.Status_FAILED {
		t.Fatalf("append: got %v, want FAILED", err)
	}
	// The connection stays usable: the sender retries on it.
	proc.SetFail(nil)
	if err := c.AppendBatch(context.Background(), events(5, "x")); err != nil {
		t.Fatal(err)
	}
	sc := f.env.SourceCounters
	if sc.AppendBatchReceived.Load() != 2 || sc.AppendBatchAccepted.Load() != 1 || sc.AppendReceived.Load() != 1 ||
		sc.AppendAccepted.Load() != 0 || sc.ChannelWriteFail.Load() != 2 || sc.EventReceived.Load() != 11 || sc.EventAccepted.Load() != 5 {
		t.Errorf("counters: %v", sc.Snapshot())
	}
	f.log.Wait(t, wait, "answered FAILED", "remote=127.0.0.1:")
}

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// encodeCall writes a call message by hand with Apache Thrift's protocol.
func encodeCall(t *testing.T, name string, body func(p athrift.TProtocol)) []byte {
	t.Helper()
	mem := athrift.NewTMemoryBuffer()
	p := athrift.NewTCompactProtocolConf(mem, nil)
	ctx := context.Background()
	_ = p.WriteMessageBegin(ctx, name, athrift.CALL, 7)
	body(p)
	_ = p.WriteMessageEnd(ctx)
	_ = p.Flush(ctx)
	return mem.Bytes()
}

// closedByPeer waits until the peer closes c, returning what it sent first.
func closedByPeer(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after %v", wait)
			}
			return got
		}
	}
}

// Every kind of bad input closes only its own connection, with one log
// line naming the peer and the problem, while another client keeps
// working; nothing of the bad requests reaches the channels.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"read-timeout": "300ms"})
	good := dial(t, f.addr, flumethrift.DialOptions{})
	if err := good.AppendBatch(context.Background(), events(1, "before")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hugeList := encodeCall(t, "appendBatch", func(p athrift.TProtocol) {
		_ = p.WriteStructBegin(ctx, "args")
		_ = p.WriteFieldBegin(ctx, "events", athrift.LIST, 1)
		_ = p.WriteListBegin(ctx, athrift.STRUCT, 1<<30)
	})
	hugeMap := encodeCall(t, "append", func(p athrift.TProtocol) {
		_ = p.WriteStructBegin(ctx, "args")
		_ = p.WriteFieldBegin(ctx, "event", athrift.STRUCT, 1)
		_ = p.WriteStructBegin(ctx, "ev")
		_ = p.WriteFieldBegin(ctx, "headers", athrift.MAP, 1)
		_ = p.WriteMapBegin(ctx, athrift.STRING, athrift.STRING, 1<<30)
	})
	noBody := encodeCall(t, "append", func(p athrift.TProtocol) {
		_ = p.WriteStructBegin(ctx, "args")
		_ = p.WriteFieldBegin(ctx, "event", athrift.STRUCT, 1)
		_ = p.WriteStructBegin(ctx, "ev")
		_ = p.WriteFieldStop(ctx)
		_ = p.WriteFieldStop(ctx)
	})
	tests := []struct {
		name  string
		send  []byte
		half  bool   // close our write side after sending
		log   string // in the source's log line
		reply string // in what the source answered before closing
	}{
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), log: "frame claims 1195725856 bytes, limit 16384000"},
		{name: "2 GiB claim", send: []byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}, log: "frame claims 2147483647 bytes, limit 16384000"},
		{name: "negative length", send: []byte{0x80, 0, 0, 0}, log: "frame claims -2147483648 bytes"},
		{name: "truncated frame", send: append([]byte{0, 0, 0, 100}, make([]byte, 10)...), half: true, log: "frame body: read 10 of 100 bytes: unexpected EOF"},
		{name: "truncated length", send: []byte{0, 0}, half: true, log: "frame length: read 2 of 4 bytes"},
		{name: "not thrift", send: frame([]byte("hello world")), log: "bad request"},
		{name: "unknown method", send: frame(encodeCall(t, "log", func(p athrift.TProtocol) { _ = p.WriteFieldStop(ctx) })), log: `no method named \"log\"`, reply: "log"},
		{name: "list claims 2^30 events", send: frame(hugeList), log: "1073741824", reply: "appendBatch"},
		{name: "map claims 2^30 headers", send: frame(hugeMap), log: "1073741824", reply: "append"},
		{name: "event without body", send: frame(noBody), log: "Required field", reply: "append"},
		{name: "stalled mid-length", send: []byte{0, 0}, log: "client stalled in the middle of a request"},
		{name: "stalled mid-body", send: []byte{0, 0, 0, 50, 1, 2}, log: "client stalled in the middle of a request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", f.addr, wait)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.half {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			got := closedByPeer(t, c)
			if !strings.Contains(string(got), tc.reply) || (tc.reply == "" && len(got) > 0) {
				t.Errorf("answered %q, want %q", got, tc.reply)
			}
			f.log.Wait(t, wait, "closing the connection", "remote="+c.LocalAddr().String(), tc.log)
			if n := len(f.log.Lines("remote=" + c.LocalAddr().String())); n != 1 {
				t.Errorf("%d log lines for this connection, want 1:\n%s", n, f.log.String())
			}
			if err := good.AppendBatch(context.Background(), events(1, "still")); err != nil {
				t.Fatalf("the good client failed after %s: %v", tc.name, err)
			}
		})
	}
	if got := proc.Events(); len(got) != 1+len(tests) {
		t.Errorf("%d events reached the channel, want %d", len(got), 1+len(tests))
	}
}

// The wrong protocol is a bad request, not a crash or a hang.
func TestProtocolMismatch(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"protocol": "binary"})
	c := dial(t, f.addr, flumethrift.DialOptions{Protocol: flumethrift.Compact, RequestTimeout: wait})
	if err := c.AppendBatch(context.Background(), events(3, "m")); err == nil {
		t.Fatal("a compact client was answered OK by a binary source")
	}
	f.log.Wait(t, wait, "bad request", "closing the connection")
	if len(proc.Events()) != 0 {
		t.Fatal("events of a mismatched call reached the channel")
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"idle-timeout": "1"})
	c, err := net.DialTimeout("tcp", f.addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closedByPeer(t, c)
	f.log.Wait(t, wait, "closing idle connection", "remote="+c.LocalAddr().String())
	if f.env.SourceCounters.EventReadFail.Load() != 0 {
		t.Error("an idle connection counted as a read failure")
	}
}

func TestTLS(t *testing.T) {
	tcfg, _, err := tlsconf.Client(tlsconf.Params{TrustStore: stores + "trust.jks", TrustStorePassword: "changeit", TrustStoreType: "JKS"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"compact", "binary"} {
		t.Run(p, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			f := start(t, proc, map[string]string{"protocol": p, "ssl": "true", "keystore": stores + "server.jks", "keystore-password": "changeit"})
			pr, _, _ := flumethrift.ParseProtocol(p)
			c := dial(t, f.addr, flumethrift.DialOptions{Protocol: pr, TLS: tcfg})
			big := &sluice.Event{Headers: map[string]string{"k": "v"}, Body: bytes.Repeat([]byte{0, 1, 2, 0xfe}, 1<<20)}
			batch := append(events(50, "t"), big)
			if err := c.AppendBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			sluicetest.SameEvents(t, proc.Events(), batch)
			// A plain client is not answered.
			plain := dial(t, f.addr, flumethrift.DialOptions{Protocol: pr, RequestTimeout: 2 * time.Second})
			if err := plain.AppendBatch(context.Background(), events(1, "p")); err == nil {
				t.Fatal("a plain client was answered OK by a TLS source")
			}
			f.log.Wait(t, wait, "TLS handshake failed")
		})
	}
}

// countingProc records the most batches handed to it at once.
type countingProc struct {
	*sluicetest.Processor
	mu            sync.Mutex
	inflight, max int
}

func (p *countingProc) Process(ctx context.Context, events []*sluice.Event, call sluice.Call) error {
	p.mu.Lock()
	p.inflight++
	p.max = max(p.max, p.inflight)
	p.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // room for another connection to overlap
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	return p.Processor.Process(ctx, events, call)
}

// threads = 1: four clients sending at once are served one batch at a time,
// and all of them get through.
func TestThreadsCapsConcurrentRequests(t *testing.T) {
	proc := &countingProc{Processor: sluicetest.NewProcessor()}
	cfg, errs := decode(t, map[string]string{"bind": "127.0.0.1", "port": "0", "threads": "1"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("r1")
	env.Processor = proc
	src, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Stop(context.Background())
	done := make(chan error, 4)
	for i := range 4 {
		go func() {
			c, err := flumethrift.Dial(context.Background(), src.Addr().String(), flumethrift.DialOptions{})
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			for j := range 10 {
				if err := c.AppendBatch(context.Background(), events(10, fmt.Sprint(i, j))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(proc.Events()); n != 400 {
		t.Fatalf("%d events, want 400", n)
	}
	if proc.max != 1 {
		t.Fatalf("%d batches were handed to the channels at once with threads = 1", proc.max)
	}
}

func TestConfig(t *testing.T) {
	bad := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"kerberos": "true", "agent-principal": "flume/_HOST@X", "agent-keytab": "/k"}, "Kerberos (SASL GSSAPI) is not supported"},
		{map[string]string{"protocol": "json"}, `"json" is not compact or binary`},
		{map[string]string{"ssl": "true"}, "a keystore is required when ssl is true"},
		{map[string]string{"max-frame-size": "10"}, "max-frame-size"},
		{map[string]string{"threads": "-1"}, "threads"},
		{map[string]string{"port": "70000"}, "port"},
	}
	for _, tc := range bad {
		all := map[string]string{"bind": "0.0.0.0", "port": "4353"}
		for k, v := range tc.props {
			all[k] = v
		}
		_, errs := decode(t, all)
		if !strings.Contains(fmt.Sprint(errs), tc.want) {
			t.Errorf("%v: errors %v, want %q", tc.props, errs, tc.want)
		}
	}
	cfg, errs := decode(t, map[string]string{"bind": "0.0.0.0", "port": "4353"})
	if len(errs) > 0 || cfg.Protocol != "compact" || cfg.MaxFrameSize != 16384000 || cfg.Threads != 0 {
		t.Fatalf("defaults: %+v %v", cfg, errs)
	}
	// Flume's quirk: BINARY validates but means compact.
	for in, want := range map[string]flumethrift.Protocol{"binary": flumethrift.Binary, "BINARY": flumethrift.Compact, "Compact": flumethrift.Compact} {
		p, _, err := flumethrift.ParseProtocol(in)
		if err != nil || p != want {
			t.Errorf("protocol %q: %v %v, want %v", in, p, err, want)
		}
	}
}

// A wrong key store password fails Start and never shows the password.
func TestBadKeystoreFailsStart(t *testing.T) {
	cfg, errs := decode(t, map[string]string{"bind": "127.0.0.1", "port": "0", "ssl": "true",
		"keystore": stores + "server.jks", "keystore-password": "s3cret-wrong"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	src, err := New(sluicetest.Env("r1"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = src.Start(context.Background())
	if err == nil {
		_ = src.Stop(context.Background())
		t.Fatal("started with a wrong key store password")
	}
	if strings.Contains(err.Error(), "s3cret-wrong") {
		t.Fatalf("error shows the password: %v", err)
	}
}

// blockingProc holds each batch until release is closed.
type blockingProc struct {
	*sluicetest.Processor
	entered chan struct{}
	release chan struct{}
}

func (p *blockingProc) Process(ctx context.Context, events []*sluice.Event, call sluice.Call) error {
	p.entered <- struct{}{}
	<-p.release
	return p.Processor.Process(ctx, events, call)
}

// Stop lets a batch being committed finish and be answered OK, closes the
// idle connections at once, and refuses new ones.
func TestStopAnswersTheBatchInFlight(t *testing.T) {
	proc := &blockingProc{Processor: sluicetest.NewProcessor(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg, errs := decode(t, map[string]string{"bind": "127.0.0.1", "port": "0"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("r1")
	env.Processor = proc
	src, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := src.Addr().String()
	idle := dial(t, addr, flumethrift.DialOptions{})
	busy := dial(t, addr, flumethrift.DialOptions{})
	answered := make(chan error, 1)
	go func() { answered <- busy.AppendBatch(context.Background(), events(3, "inflight")) }()
	<-proc.entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		stopped <- src.Stop(ctx)
	}()
	for !src.stopping.Load() {
		time.Sleep(time.Millisecond)
	}
	// The idle connection is closed while the batch is still held.
	if err := idle.AppendBatch(context.Background(), events(1, "late")); err == nil {
		t.Fatal("a stopping source took a new batch")
	}
	close(proc.release)
	if err := <-answered; err != nil {
		t.Fatalf("the batch in flight was not answered OK: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := len(proc.Events()); n != 3 {
		t.Fatalf("%d events committed, want 3", n)
	}
	if _, err := flumethrift.Dial(context.Background(), addr, flumethrift.DialOptions{ConnectTimeout: 2 * time.Second}); err == nil {
		t.Fatal("a stopped source accepted a connection")
	}
}
