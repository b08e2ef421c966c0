// Package tcpserver is the connection bookkeeping every TCP source shares:
// the accept loop (retrying when the process runs out of descriptors), one
// goroutine per connection, the OpenConnectionCount counter, and a stop
// that first asks each connection to finish what it holds and closes the
// stragglers at the caller's deadline.
package tcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// Server serves one listener. Set the fields, then Start.
type Server struct {
	// What is the source's name in log lines ("netcat source").
	What     string
	Log      *slog.Logger
	Counters *sluice.SourceCounters
	// Serve handles one connection and returns when it is done; the server
	// closes the connection afterwards.
	Serve func(c net.Conn)
	// Finish asks a connection to end after the work it holds (for example
	// by closing its read side) when Stop begins.
	Finish func(c net.Conn)

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	stopped  bool
	acceptWG sync.WaitGroup

	acceptLog ratelog.Limiter // accept failures come every retry while they last
	connWG    sync.WaitGroup
}

// Running reports whether Start was called and Stop was not.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln != nil && !s.stopped
}

// Addr is the listening address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Start serves ln on its own goroutine.
func (s *Server) Start(ln net.Listener) {
	s.mu.Lock()
	s.ln, s.conns, s.stopped = ln, map[net.Conn]struct{}{}, false
	s.mu.Unlock()
	s.acceptWG.Add(1)
	go s.acceptLoop(ln)
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and try again
			// rather than spin or give up.
			s.Counters.GenericProcessingFail.Add(1)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			if ok, held := s.acceptLog.Allow(); ok {
				s.Log.Error(s.What+": accept failed (out of file descriptors? see ulimit -Hn); retrying", "err", err, "retry_in", delay,
					"similar_lines_held_back", held)
			}
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		s.Counters.OpenConnection.Add(1)
		go func() {
			defer s.forget(c)
			s.Serve(c)
		}()
	}
}

func (s *Server) forget(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.Counters.OpenConnection.Add(-1)
	s.connWG.Done()
}

// Stop closes the listener, asks every connection to finish (Finish), and
// waits for them. At ctx's deadline it calls abort (to cancel work in
// flight), closes what is left and reports how many it closed. It returns
// the listening address (nil when the server was not running).
func (s *Server) Stop(ctx context.Context, abort func()) (addr net.Addr, closed int) {
	s.mu.Lock()
	if s.ln == nil || s.stopped {
		s.mu.Unlock()
		return nil, 0
	}
	s.stopped = true
	ln := s.ln
	s.mu.Unlock()

	ln.Close()
	s.acceptWG.Wait()

	s.mu.Lock()
	for c := range s.conns {
		s.Finish(c)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		closed = len(s.conns)
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		abort()
		<-done
	}
	return ln.Addr(), closed
}

// Shutdown is Stop as a source's Stop wants it: it logs the stop and
// returns an error saying how many connections were still busy at ctx's
// deadline (nil when none, or when the server was not running).
func (s *Server) Shutdown(ctx context.Context, name string, abort func()) error {
	addr, closed := s.Stop(ctx, abort)
	if addr == nil {
		return nil
	}
	var err error
	if closed > 0 {
		err = fmt.Errorf("%s %s: %d connection(s) still busy at the stop deadline were closed: %w", s.What, name, closed, ctx.Err())
	}
	s.Log.Info(s.What+" stopped", "addr", addr.String())
	return err
}
