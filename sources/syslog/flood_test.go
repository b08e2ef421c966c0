package syslog

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/internal/tlsconf"
	"github.com/sluiceio/sluice/sluicetest"
)

// A stream with no newline is cut at eventSize into events, said in one
// log line, not one per piece.
func TestTCPCutMessagesLoggedOnce(t *testing.T) {
	cfg := &TCPConfig{Common: commonDefaults(), EventSize: 100, BatchSize: 100, ServerProps: tlsconf.DefaultServerProps()}
	cfg.Host, cfg.Port = "127.0.0.1", 0
	proc := sluicetest.NewProcessor()
	env := sluicetest.SourceEnv("r1", proc)
	lb := &sluicetest.LogBuf{}
	env.Logger = lb.Logger()
	src, err := NewTCP(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Stop(context.Background())
	c, err := net.Dial("tcp", src.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(strings.Repeat("x", 100*50)))
	c.Close()
	deadline := time.Now().Add(wait)
	for len(proc.Events()) < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	evs := proc.Events()
	if len(evs) != 50 {
		t.Fatalf("%d events, want 50 pieces of 100 bytes", len(evs))
	}
	for _, e := range evs {
		if len(e.Body) > 100 {
			t.Fatalf("a piece of %d bytes, eventSize 100", len(e.Body))
		}
	}
	if n := len(lb.Lines("longer than eventSize")); n != 1 {
		t.Errorf("%d log lines for 50 cut messages, want 1:\n%s", n, lb.String())
	}
}
