package avro

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 15 * time.Second

// logBuf collects log output safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog polls until the log holds every one of parts on one line.
func (l *logBuf) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fixture struct {
	src  *Source
	proc sluice.ChannelProcessor
	env  sluice.Env
	log  *logBuf
	addr string
}

// start builds the source through its spec, from properties as a
// configuration file would give them, and starts it on a free port.
func start(t testing.TB, proc sluice.ChannelProcessor, props map[string]string) *fixture {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.AvroSource")
	if !ok {
		t.Fatal("avro source not registered under its Flume class name")
	}
	cfg := spec.Config()
	var ps []conf.Prop
	all := map[string]string{"bind": "127.0.0.1", "port": "0"}
	for k, v := range props {
		all[k] = v
	}
	for k, v := range all {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		t.Fatalf("config: %v", e)
	}
	env := sluicetest.Env("r1")
	if p, ok := proc.(*sluicetest.Processor); ok {
		env = sluicetest.SourceEnv("r1", p)
	}
	lb := &logBuf{}
	env.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.Processor = proc
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := v.(*Source)
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
	return &fixture{src: src, proc: proc, env: env, log: lb, addr: src.Addr().String()}
}

func dial(t testing.TB, addr string, o avroipc.DialOptions) *avroipc.Client {
	t.Helper()
	c, err := avroipc.Dial(context.Background(), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func events(n int, prefix string) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = &sluice.Event{Headers: map[string]string{"i": prefix + string(rune('a'+i%26))}, Body: []byte(prefix + "-body")}
	}
	return out
}

// rawConn is a TCP connection for sending hand-made bytes.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer waits until the peer closes c (a read returns EOF or a
// reset), reading and discarding whatever it answered first.
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
