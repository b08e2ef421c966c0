package avro

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Source is a running avro source.
type Source struct {
	cfg      Config
	name     string
	deflate  bool
	rules    []ipRule
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	ln        net.Listener
	tls       *tls.Config
	filter    *ipFilter
	protocols *avroipc.ServerProtocols
	conns     map[net.Conn]struct{}
	stopped   bool
	stopping  atomic.Bool // read by connections before each read
	acceptWG  sync.WaitGroup
	connWG    sync.WaitGroup
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// New builds the source without touching the network or the key store.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("avro source %s: %w", env.Name, err)
	}
	if env.Processor == nil {
		return nil, fmt.Errorf("avro source %s: no channel processor", env.Name)
	}
	deflate, _ := compression(cfg.CompressionType)
	var rules []ipRule
	if cfg.IPFilter {
		rules, _ = parseRules(cfg.IPFilterRules)
	}
	log := env.Logger
	if log == nil {
		log = slog.Default()
	}
	counters := env.SourceCounters
	if counters == nil {
		counters = sluice.NewSourceCounters()
	}
	return &Source{cfg: *cfg, name: env.Name, deflate: deflate, rules: rules,
		log: log, proc: env.Processor, counters: counters}, nil
}

// Addr is the address the source listens on, or nil before Start.
func (s *Source) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Start loads the key store (with ssl), binds the port and serves
// connections on its own goroutines.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil && !s.stopped {
		return errors.New("avro source already started")
	}
	var tcfg *tls.Config
	if s.cfg.SSL {
		cfg, warnings, err := tlsconf.Server(s.cfg.tlsParams())
		for _, w := range warnings {
			s.log.Warn("avro source: " + w)
		}
		if err != nil {
			return fmt.Errorf("avro source %s: ssl: %w", s.name, err)
		}
		tcfg = cfg
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("avro source %s: listen on %s: %w", s.name, addr, err)
	}
	s.ln, s.tls = ln, tcfg
	s.filter = nil
	if len(s.rules) > 0 {
		s.filter = newIPFilter(s.rules)
	}
	s.protocols = &avroipc.ServerProtocols{}
	s.conns = map[net.Conn]struct{}{}
	s.stopped = false
	s.stopping.Store(false)
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.counters.Started()
	s.log.Info("avro source listening", "addr", ln.Addr().String(), "compression", s.cfg.CompressionType, "ssl", s.cfg.SSL)
	s.acceptWG.Add(1)
	go s.acceptLoop(ln)
	return nil
}

func (s *Source) acceptLoop(ln net.Listener) {
	defer s.acceptWG.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and retry.
			s.counters.GenericProcessingFail.Add(1)
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Error("avro source: accept failed; retrying", "err", err, "retry_in", delay)
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
		s.counters.OpenConnection.Add(1)
		go s.serve(c)
	}
}

func (s *Source) forget(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.counters.OpenConnection.Add(-1)
	s.connWG.Done()
}

// Stop closes the listener, then lets each connection finish the request it
// is working on: the connections' read sides are woken at once, and a batch
// being committed is answered. At ctx's deadline the rest are closed.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.ln == nil || s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	s.stopping.Store(true)
	ln := s.ln
	s.mu.Unlock()

	ln.Close()
	s.acceptWG.Wait()

	s.mu.Lock()
	for c := range s.conns {
		// A connection waiting for its next request stops at once; one
		// inside Process finishes and answers, then stops.
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.cancelRun()
		<-done
		err = fmt.Errorf("avro source %s: %d connection(s) still busy at the stop deadline were closed: %w", s.name, n, ctx.Err())
	}
	s.cancelRun()
	s.counters.Stopped()
	s.log.Info("avro source stopped", "addr", ln.Addr().String())
	return err
}
