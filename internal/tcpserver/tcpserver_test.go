package tcpserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sluiceio/sluice"
)

// failingListener fails Accept n times (as a process out of descriptors
// does), then reports itself closed.
type failingListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return nil, net.ErrClosed
	}
	l.n--
	return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
}

func (l *failingListener) Close() error { return nil }
func (l *failingListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
}

// Accept failures are retried and counted, but logged once per interval,
// not once per retry.
func TestAcceptFailuresRateLimited(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	counters := sluice.NewSourceCounters()
	s := Server{What: "test source", Log: log, Counters: counters, Serve: func(net.Conn) {}, Finish: func(net.Conn) {}}
	s.Start(&failingListener{n: 5})
	s.Stop(context.Background(), func() {})
	if n := counters.GenericProcessingFail.Load(); n != 5 {
		t.Errorf("GenericProcessingFail %d, want 5", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "accept failed"); n != 1 {
		t.Errorf("%d log lines for 5 failed accepts, want 1:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "too many open files") {
		t.Errorf("the line does not say why:\n%s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
