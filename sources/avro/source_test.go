package avro

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/tlsconf"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestAppendBatchAndAppend(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, nil)
	c := dial(t, f.addr, avroipc.DialOptions{})
	batch := events(10, "b")
	batch = append(batch, &sluice.Event{Headers: map[string]string{}, Body: nil})
	if err := c.AppendBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := c.Append(context.Background(), &sluice.Event{Headers: map[string]string{"one": "1"}, Body: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	got := proc.Events()
	if len(got) != 12 {
		t.Fatalf("got %d events", len(got))
	}
	for i, e := range batch {
		if !bytes.Equal(got[i].Body, e.Body) || got[i].Headers["i"] != e.Headers["i"] {
			t.Fatalf("event %d: %+v, want %+v", i, got[i], e)
		}
	}
	if got[11].Headers["one"] != "1" || !bytes.Equal(got[11].Body, []byte{0, 1, 2}) {
		t.Fatalf("appended event %+v", got[11])
	}
	sc := f.env.SourceCounters
	for name, want := range map[string]int64{
		"AppendBatchReceived": sc.AppendBatchReceived.Load(), "AppendBatchAccepted": sc.AppendBatchAccepted.Load(),
		"AppendReceived": sc.AppendReceived.Load(), "AppendAccepted": sc.AppendAccepted.Load(),
		"OpenConnection": sc.OpenConnection.Load(),
	} {
		if want != 1 {
			t.Errorf("%s = %d, want 1", name, want)
		}
	}
	if sc.EventReceived.Load() != 12 || sc.EventAccepted.Load() != 12 || sc.ChannelWriteFail.Load() != 0 {
		t.Errorf("counters: %v", sc.Snapshot())
	}
}

func TestChannelFailureAnswersFailed(t *testing.T) {
	proc := sluicetest.NewProcessor()
	proc.SetFail(sluicetest.ErrFull)
	f := start(t, proc, nil)
	c := dial(t, f.addr, avroipc.DialOptions{})
	err := c.AppendBatch(context.Background(), events(5, "x"))
	var se *avroipc.StatusError
	if !errors.As(err, &se) || se.Status != avroipc.StatusFailed {
		t.Fatalf("got %v, want FAILED", err)
	}
	err = c.Append(context.Background(), events(1, "y")[0])
	if !errors.As(err, &se) || se.Status != avroipc.StatusFailed {
		t.Fatalf("append: got %v, want FAILED", err)
	}
	// The connection stays usable: the sender retries on it.
	proc.SetFail(nil)
	if err := c.AppendBatch(context.Background(), events(5, "x")); err != nil {
		t.Fatal(err)
	}
	sc := f.env.SourceCounters
	// As Flume's: one ChannelWriteFail per refused request.
	if sc.AppendBatchReceived.Load() != 2 || sc.AppendBatchAccepted.Load() != 1 || sc.AppendReceived.Load() != 1 || sc.AppendAccepted.Load() != 0 ||
		sc.ChannelWriteFail.Load() != 2 || sc.EventReceived.Load() != 11 || sc.EventAccepted.Load() != 5 {
		t.Errorf("counters: %v", sc.Snapshot())
	}
	f.log.waitLog(t, "answered FAILED", "remote=127.0.0.1:")
}

func frameHeader(serial, nbuf int32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(serial)), uint32(nbuf))
}

// Every kind of bad input closes only its own connection, with a log line
// naming the peer and the problem, while another client keeps working.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"read-timeout": "300ms"})
	good := dial(t, f.addr, avroipc.DialOptions{})
	if err := good.AppendBatch(context.Background(), events(1, "before")); err != nil {
		t.Fatal(err)
	}
	hs := append(append([]byte(nil), avroipc.ProtocolHash[:]...), 0)
	hs = append(append(hs, avroipc.ProtocolHash[:]...), 2, 0)
	tests := []struct {
		name  string
		send  []byte
		half  bool   // close our write side after sending
		log   string // in the source's log line
		reply string // in what the source answered before closing
	}{
		{name: "garbage", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), log: "frame claims 790644820 buffers, limit 16777216"},
		{name: "2 GiB claim", send: append(frameHeader(1, 1), 0x7f, 0xff, 0xff, 0xff), log: "frame claims 2147483647 bytes, limit 67108864"},
		{name: "truncated frame", send: append(append(frameHeader(1, 1), 0, 0, 0, 100), make([]byte, 10)...), half: true, log: "buffer 1 of 1: read 10 of 100 bytes"},
		{name: "wrong handshake", send: avroipc.AppendFrame(nil, 1, []byte{1, 2}), log: "bad request", reply: "handshake"},
		{name: "unknown message", send: avroipc.AppendFrame(nil, 1, append(hs, 0, 6, 'f', 'o', 'o')), log: `no message named \"foo\"`, reply: "foo"},
		{name: "stalled mid-frame", send: frameHeader(1, 1)[:6], log: "client stalled in the middle of a request"},
		{name: "stalled mid-body", send: append(frameHeader(1, 1), 0, 0, 0, 50, 1, 2), log: "client stalled in the middle of a request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := rawConn(t, f.addr)
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.half {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			reply := closedByPeer(t, c)
			if tc.reply != "" && !bytes.Contains(reply, []byte(tc.reply)) {
				t.Errorf("reply %q does not mention %q", reply, tc.reply)
			}
			f.log.waitLog(t, "closing the connection", "remote="+c.LocalAddr().String(), tc.log)
			if err := good.AppendBatch(context.Background(), events(2, tc.name)); err != nil {
				t.Fatalf("the other client failed: %v", err)
			}
		})
	}
	if n := f.env.SourceCounters.EventReadFail.Load(); n != int64(len(tests)) {
		t.Errorf("EventReadFail = %d, want %d", n, len(tests))
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	f := start(t, sluicetest.NewProcessor(), map[string]string{"idle-timeout": "200ms"})
	c := rawConn(t, f.addr)
	closedByPeer(t, c)
	f.log.waitLog(t, "closing idle connection", "remote="+c.LocalAddr().String())
	// A client that reconnects after the idle close is served normally.
	cl := dial(t, f.addr, avroipc.DialOptions{})
	if err := cl.AppendBatch(context.Background(), events(1, "z")); err != nil {
		t.Fatal(err)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, nil)
	c := rawConn(t, f.addr)
	sess := avroipc.NewClientSession("pipeline")
	var out []byte
	for serial := int32(1); serial <= 3; serial++ {
		out = sess.AppendRequest(out, serial*10, avroipc.MsgAppendBatch, events(int(serial), "p"))
		// The handshake goes with the first request only once it is
		// answered; pipelining after the handshake is what clients do.
		if serial == 1 {
			if _, err := c.Write(out); err != nil {
				t.Fatal(err)
			}
			out = out[:0]
			fr := avroipc.NewFrameReader(c, 0)
			s, p, err := fr.ReadFrame()
			if err != nil || s != 10 {
				t.Fatalf("serial %d err %v", s, err)
			}
			if _, st, err := sess.ReadResponse(p); err != nil || st != avroipc.StatusOK {
				t.Fatalf("%v %v", st, err)
			}
		}
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	fr := avroipc.NewFrameReader(c, 0)
	for _, want := range []int32{20, 30} {
		s, p, err := fr.ReadFrame()
		if err != nil || s != want {
			t.Fatalf("serial %d (want %d) err %v", s, want, err)
		}
		if _, st, err := sess.ReadResponse(p); err != nil || st != avroipc.StatusOK {
			t.Fatalf("%v %v", st, err)
		}
	}
	if n := len(proc.Events()); n != 6 {
		t.Fatalf("%d events", n)
	}
}

func TestUnknownClientProtocolHandshake(t *testing.T) {
	// A client whose protocol hash the server does not know is told NONE
	// and sends the call again with its protocol text; the Go client does
	// this when the server's hash differs from its own, so drive it by
	// hand with a different client hash.
	proc := sluicetest.NewProcessor()
	f := start(t, proc, nil)
	c := rawConn(t, f.addr)
	other := bytes.Repeat([]byte{0xab}, 16)
	call := []byte{0, 0x16}
	call = append(call, "appendBatch"...)
	call = append(call, 2, 0, 4, 'h', 'i', 0)
	hs := append(append(append([]byte(nil), other...), 0), avroipc.ProtocolHash[:]...)
	hs = append(hs, 2, 0)
	if _, err := c.Write(avroipc.AppendFrame(nil, 1, append(hs, call...))); err != nil {
		t.Fatal(err)
	}
	fr := avroipc.NewFrameReader(c, 0)
	_, p, err := fr.ReadFrame()
	if err != nil || p[0] != 4 { // NONE
		t.Fatalf("reply %x %v", p[:min(len(p), 8)], err)
	}
	hs = append(append([]byte(nil), other...), 2)
	hs = binary.AppendVarint(hs, int64(len(avroipc.ProtocolJSON)))
	hs = append(hs, avroipc.ProtocolJSON...)
	hs = append(append(hs, avroipc.ProtocolHash[:]...), 2, 0)
	if _, err := c.Write(avroipc.AppendFrame(nil, 2, append(hs, call...))); err != nil {
		t.Fatal(err)
	}
	s, p, err := fr.ReadFrame()
	if err != nil || s != 2 || !bytes.Equal(p, []byte{0, 0, 0, 0, 0, 0, 0}) {
		t.Fatalf("serial %d reply %x %v", s, p, err)
	}
	if ev := proc.Events(); len(ev) != 1 || string(ev[0].Body) != "hi" {
		t.Fatalf("events %+v", ev)
	}
}

func TestDeflateAndTLS(t *testing.T) {
	trust := "../../internal/tlsconf/testdata/trust.jks"
	tcfg, _, err := tlsconf.Client(tlsconf.Params{TrustStore: trust, TrustStorePassword: "changeit", TrustStoreType: "JKS"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		props map[string]string
		opts  avroipc.DialOptions
	}{
		{"deflate", map[string]string{"compression-type": "deflate"}, avroipc.DialOptions{Deflate: true, DeflateLevel: 1}},
		{"tls jks", map[string]string{"ssl": "true", "keystore": "../../internal/tlsconf/testdata/server.jks", "keystore-password": "changeit"}, avroipc.DialOptions{TLS: tcfg}},
		{"tls pkcs12 + deflate", map[string]string{"ssl": "true", "keystore": "../../internal/tlsconf/testdata/server.p12", "keystore-password": "changeit", "keystore-type": "PKCS12", "compression-type": "DEFLATE"}, avroipc.DialOptions{TLS: tcfg, Deflate: true, DeflateLevel: 9}},
		{"tls pem", map[string]string{"ssl": "true", "keystore": "../../internal/tlsconf/testdata/server.pem", "keystore-type": "PEM"}, avroipc.DialOptions{TLS: tcfg}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			f := start(t, proc, tc.props)
			c := dial(t, f.addr, tc.opts)
			big := &sluice.Event{Headers: map[string]string{"k": "v"}, Body: bytes.Repeat([]byte("compressible "), 100000)}
			if err := c.AppendBatch(context.Background(), append(events(50, "x"), big)); err != nil {
				t.Fatal(err)
			}
			if got := proc.Events(); len(got) != 51 || !bytes.Equal(got[50].Body, big.Body) {
				t.Fatalf("got %d events", len(got))
			}
			// A plain client cannot talk to it.
			plain, err := avroipc.Dial(context.Background(), f.addr, avroipc.DialOptions{ConnectTimeout: time.Second, RequestTimeout: time.Second})
			if err == nil {
				defer plain.Close()
				if err := plain.AppendBatch(context.Background(), events(1, "p")); err == nil {
					t.Fatal("a client without compression or TLS was answered OK")
				}
			}
		})
	}
}

func TestIPFilter(t *testing.T) {
	tests := []struct {
		rules string
		allow bool
	}{
		{"deny:ip:127.0.0.1", false},
		{"allow:ip:127.*,deny:ip:*", true},
		{"deny:ip:10.*", true}, // no match accepts
		{"allow:ip:10.0.0.?,deny:ip:12?.*", false},
		{"allow:name:localhost,deny:ip:*", true},
		{"deny:name:localhost", false},
	}
	for _, tc := range tests {
		t.Run(tc.rules, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			f := start(t, proc, map[string]string{"ipFilter": "true", "ipFilterRules": tc.rules})
			c, err := avroipc.Dial(context.Background(), f.addr, avroipc.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.AppendBatch(context.Background(), events(1, "f"))
			if tc.allow && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.allow {
				if err == nil {
					t.Fatal("accepted")
				}
				f.log.waitLog(t, "refused by ipFilterRules", "remote=127.0.0.1:")
			}
		})
	}
}

func TestIPFilterNameRules(t *testing.T) {
	rules, err := parseRules("deny:name:*.evil.example, allow:name:host?.example.com ,deny:ip:*")
	if err != nil {
		t.Fatal(err)
	}
	f := newIPFilter(rules)
	lookups := 0
	names := map[string][]string{"192.0.2.1": {"a.evil.example."}, "192.0.2.2": {"host1.example.com."}, "2001:db8::1": {"host2.example.com."}}
	f.lookup = func(_ context.Context, addr string) ([]string, error) {
		lookups++
		if n, ok := names[addr]; ok {
			return n, nil
		}
		return nil, errors.New("no name")
	}
	for addr, want := range map[string]bool{"192.0.2.1:1": false, "192.0.2.2:1": true, "[2001:db8::1]:1": true, "192.0.2.9:1": false} {
		a, _ := net.ResolveTCPAddr("tcp", addr)
		if got, rule := f.allow(a); got != want {
			t.Errorf("%s: allowed %v by %q, want %v", addr, got, rule, want)
		}
	}
	if lookups != 4 {
		t.Errorf("%d reverse lookups for 4 connections", lookups)
	}
	// Without a name rule nothing is looked up; IPv6 matches Java's long form too.
	rules, _ = parseRules("allow:ip:0:0:0:0:0:0:0:1,deny:ip:*")
	f = newIPFilter(rules)
	f.lookup = func(context.Context, string) ([]string, error) { t.Fatal("looked up"); return nil, nil }
	a, _ := net.ResolveTCPAddr("tcp", "[::1]:5")
	if ok, _ := f.allow(a); !ok {
		t.Error("::1 refused by a rule in Java's long form")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"compression-type": "gzip"}, `compression-type (command line): "gzip" is not none or deflate`},
		{map[string]string{"ipFilter": "true"}, "ipFilter is true but ipFilterRules is empty"},
		{map[string]string{"ipFilter": "true", "ipFilterRules": "allow:host:x"}, `rule "allow:host:x" should look like`},
		{map[string]string{"ipFilter": "true", "ipFilterRules": "allow:ip:[1-"}, "pattern"},
		{map[string]string{"ssl": "true"}, "a keystore is required when ssl is true"},
		{map[string]string{"ssl": "true", "keystore": "x", "keystore-type": "BKS"}, "keystore-type"},
		{map[string]string{"exclude-protocols": "SSLv3 TLS1.0"}, `"TLS1.0": not a protocol name`},
		{map[string]string{"port": "70000"}, "not a TCP port"},
		{map[string]string{"max-frame-size": "10"}, "max-frame-size"},
	}
	spec, _ := sluice.Lookup(sluice.KindSource, "avro")
	for _, tc := range tests {
		cfg := spec.Config()
		var ps []conf.Prop
		all := map[string]string{"bind": "127.0.0.1", "port": "0"}
		for k, v := range tc.props {
			all[k] = v
		}
		for k, v := range all {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
		}
		var msgs []string
		for _, e := range conf.Decode(cfg, ps) {
			msgs = append(msgs, e.Error())
		}
		if got := strings.Join(msgs, "; "); !strings.Contains(got, tc.want) {
			t.Errorf("%v: errors %q, want %q", tc.props, got, tc.want)
		}
	}
	// A key store that cannot be read fails Start, not New.
	cfg := defaults()
	cfg.Bind, cfg.SSL, cfg.Keystore, cfg.KeystorePassword = "127.0.0.1", true, "../../internal/tlsconf/testdata/server.jks", "wrong"
	env := sluicetest.Env("r1")
	env.Processor = sluicetest.NewProcessor()
	src, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("Start with a wrong password: %v", err)
	}
}

func TestStopWithIdleClients(t *testing.T) {
	f := start(t, sluicetest.NewProcessor(), nil)
	c := dial(t, f.addr, avroipc.DialOptions{})
	if err := c.AppendBatch(context.Background(), events(1, "s")); err != nil {
		t.Fatal(err)
	}
	raw := rawConn(t, f.addr)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.src.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendBatch(context.Background(), events(1, "s")); err == nil {
		t.Fatal("answered after stop")
	}
	_ = raw.SetReadDeadline(time.Now().Add(wait))
	if _, err := raw.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("idle connection after stop: %v", err)
	}
	if n := f.env.SourceCounters.OpenConnection.Load(); n != 0 {
		t.Errorf("OpenConnectionCount %d after stop", n)
	}
}
