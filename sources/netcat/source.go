package netcat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/tcpserver"
)

// Source is a running netcat source.
type Source struct {
	cfg      Config
	enc      encoding
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu  sync.Mutex // serialises Start and Stop
	srv tcpserver.Server
	// runCtx is what Process calls get; Stop cancels it only when its own
	// deadline passes, so in-flight batches can finish.
	runCtx    context.Context
	cancelRun context.CancelFunc

	failLog ratelog.Limiter // a full channel must not flood the log
	badLog  ratelog.Limiter // nor a flood of bad clients (over-long lines, partial lines)
	refused ratelog.Limiter // lines refused for want of budget
	budget  *budget.Budget  // bytes of lines being assembled, beyond each connection's first buffer
}

// New builds the source without touching the network.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	enc, _ := lookupEncoding(cfg.Encoding) // Validate accepted it
	return &Source{cfg: *cfg, enc: enc, log: env.Logger, proc: env.Processor, counters: env.SourceCounters}, nil
}

// BatchSize is the most lines of one connection put in one Process call.
func (s *Source) BatchSize() int { return maxBatch }

// Addr is the address the source listens on, or nil before Start. With
// port 0 it tells which port was picked.
func (s *Source) Addr() net.Addr { return s.srv.Addr() }

// Start binds the port and accepts connections on its own goroutine.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv.Running() {
		return errors.New("netcat source already started")
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("netcat source: listen on %s: %w", addr, err)
	}
	s.budget = budget.Configured(s.cfg.MaxBytesInFlight)
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.log.Info("netcat source listening", "addr", ln.Addr().String(), "max_bytes_in_flight", s.budget.Limit())
	s.srv = tcpserver.Server{What: "netcat source", Log: s.log, Counters: s.counters, Serve: s.serve,
		// Closing the read side lets the lines already received be
		// committed and answered.
		Finish: func(c net.Conn) {
			if cr, ok := c.(interface{ CloseRead() error }); ok {
				cr.CloseRead()
			} else {
				c.Close()
			}
		}}
	s.srv.Start(ln)
	return nil
}

// Stop closes the listener, then ends every connection: first by closing
// its read side, so the lines already received are committed and
// answered, then, if ctx expires, by closing it outright.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.srv.Running() {
		return nil
	}
	addr, closed := s.srv.Stop(ctx, s.cancelRun)
	var err error
	if closed > 0 {
		err = fmt.Errorf("netcat source: %d connection(s) still busy at the stop deadline were closed: %w", closed, ctx.Err())
	}
	s.cancelRun()
	s.log.Info("netcat source stopped", "addr", addr.String())
	return err
}
