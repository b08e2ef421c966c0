package avro

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/sluiceio/sluice/internal/tcpserver"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/ratelog"
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

	mu        sync.Mutex // serialises Start and Stop
	srv       tcpserver.Server
	tls       *tls.Config
	filter    *ipFilter
	protocols *avroipc.ServerProtocols
	stopping  atomic.Bool // read by connections before each read
	report    tcpserver.Reporter
	runCtx    context.Context
	cancelRun context.CancelFunc
	budget    *budget.Budget  // bytes in flight, shared by the connections
	refused   ratelog.Limiter // log lines of requests refused for want of budget
	filtered  ratelog.Limiter // log lines of connections ipFilterRules refused
	chanFull  ratelog.Limiter // lines about batches the channels refused (a full channel or disk refuses every retry)
}

// New builds the source without touching the network or the key store.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	// Validate accepted both; New only keeps what they parse to.
	deflate, _ := compression(cfg.CompressionType)
	var rules []ipRule
	if cfg.IPFilter {
		rules, _ = parseRules(cfg.IPFilterRules)
	}
	return &Source{cfg: *cfg, name: env.Name, deflate: deflate, rules: rules,
		log: env.Logger, proc: env.Processor, counters: env.SourceCounters}, nil
}

// Addr is the address the source listens on, or nil before Start.
func (s *Source) Addr() net.Addr { return s.srv.Addr() }

// Start loads the key store (with ssl), binds the port and serves
// connections on its own goroutines.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv.Running() {
		return errors.New("avro source already started")
	}
	tcfg, err := s.cfg.ServerProps.Load(s.log, "avro source")
	if err != nil {
		return fmt.Errorf("avro source %s: ssl: %w", s.name, err)
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("avro source %s: listen on %s: %w", s.name, addr, err)
	}
	s.tls = tcfg
	s.filter = nil
	if len(s.rules) > 0 {
		s.filter = newIPFilter(s.rules)
	}
	s.protocols = &avroipc.ServerProtocols{}
	s.budget = budget.Configured(s.cfg.MaxBytesInFlight)
	s.stopping.Store(false)
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.log.Info("avro source listening", "addr", ln.Addr().String(), "compression", s.cfg.CompressionType, "ssl", s.cfg.SSL,
		"max_bytes_in_flight", s.budget.Limit())
	s.report = tcpserver.Reporter{What: "avro source", Log: s.log, Counters: s.counters,
		Stopping: &s.stopping, IdleTimeout: s.cfg.IdleTimeout}
	s.srv = tcpserver.Server{What: "avro source", Log: s.log, Counters: s.counters, Serve: s.serve,
		Finish: tcpserver.WakeReaders}
	s.srv.Start(ln)
	return nil
}

// Stop closes the listener, then lets each connection finish the request it
// is working on: the connections' read sides are woken at once, and a batch
// being committed is answered. At ctx's deadline the rest are closed.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.srv.Running() {
		return nil
	}
	s.stopping.Store(true)
	err := s.srv.Shutdown(ctx, s.name, s.cancelRun)
	s.cancelRun()
	return err
}
