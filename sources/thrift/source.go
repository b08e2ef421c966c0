package thrift

import (
	"bufio"
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

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/flumethrift/flume"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/tcpserver"
)

// Source is a running thrift source.
type Source struct {
	cfg      Config
	name     string
	protocol flumethrift.Protocol
	note     string
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex // serialises Start and Stop
	srv       tcpserver.Server
	tls       *tls.Config
	slots     chan struct{}   // threads: nil when unbounded
	budget    *budget.Budget  // bytes in flight, shared by the connections
	refused   ratelog.Limiter // log lines of requests refused for want of budget
	chanFull  ratelog.Limiter // lines about batches the channels refused (a full channel or disk refuses every retry)
	stopping  atomic.Bool     // read by connections before each read
	report    tcpserver.Reporter
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// New builds the source without touching the network or the key store.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	p, note, _ := flumethrift.ParseProtocol(cfg.Protocol) // Validate accepted it
	return &Source{cfg: *cfg, name: env.Name, protocol: p, note: note,
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
		return errors.New("thrift source already started")
	}
	if s.note != "" {
		s.log.Warn("thrift source: " + s.note)
	}
	tcfg, err := s.cfg.ServerProps.Load(s.log, "thrift source")
	if err != nil {
		return fmt.Errorf("thrift source %s: ssl: %w", s.name, err)
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("thrift source %s: listen on %s: %w", s.name, addr, err)
	}
	s.tls = tcfg
	s.slots = nil
	if s.cfg.Threads > 0 {
		s.slots = make(chan struct{}, s.cfg.Threads)
	}
	s.budget = budget.Configured(s.cfg.MaxBytesInFlight)
	s.stopping.Store(false)
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	s.log.Info("thrift source listening", "addr", ln.Addr().String(), "protocol", s.protocol.String(), "ssl", s.cfg.SSL,
		"max_bytes_in_flight", s.budget.Limit())
	s.report = tcpserver.Reporter{What: "thrift source", Log: s.log, Counters: s.counters,
		Stopping: &s.stopping, IdleTimeout: s.cfg.IdleTimeout}
	s.srv = tcpserver.Server{What: "thrift source", Log: s.log, Counters: s.counters, Serve: s.serve,
		Finish: tcpserver.WakeReaders}
	s.srv.Start(ln)
	return nil
}

// Stop closes the listener, then lets each connection finish the request it
// is working on. At ctx's deadline the rest are closed.
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

func (s *Source) serve(raw net.Conn) {
	peer := raw.RemoteAddr().String()
	dc := &tcpserver.DeadlineConn{Conn: raw, Timeout: s.cfg.ReadTimeout, Stopping: &s.stopping}
	var conn net.Conn = dc
	if s.tls != nil {
		tc := tls.Server(dc, s.tls)
		if err := tc.Handshake(); err != nil {
			if !s.stopping.Load() {
				s.report.BadInput(peer, "TLS handshake failed", err)
			}
			return
		}
		conn = tc
	}
	defer conn.Close()
	dc.Timeout = s.cfg.IdleTimeout
	first, err := tcpserver.FirstByte(conn)
	if err != nil {
		s.report.Ended(peer, err, true)
		return
	}
	c := &connection{s: s, peer: peer, dc: dc, conn: conn,
		br: bufio.NewReaderSize(first, 64<<10), w: flumethrift.NewWriter(s.protocol),
		dec: flumethrift.Decoder{Protocol: s.protocol}}
	c.run()
}

type connection struct {
	s    *Source
	peer string
	dc   *tcpserver.DeadlineConn
	conn net.Conn
	br   *bufio.Reader
	w    *flumethrift.Writer
	dec  flumethrift.Decoder
}

func (c *connection) run() {
	s := c.s
	for {
		// Between requests the idle timeout applies; from the first byte
		// of a request, the read timeout.
		c.dc.Timeout = s.cfg.IdleTimeout
		if _, err := c.br.Peek(1); err != nil {
			s.report.Ended(c.peer, err, true)
			return
		}
		c.dc.Timeout = s.cfg.ReadTimeout
		// A new buffer for each frame: the events point into it.
		payload, held, err := flumethrift.ReadFrameBudget(c.br, nil, s.cfg.MaxFrameSize, s.budget, s.cfg.ReadTimeout)
		var over *budget.ExceededError
		if errors.As(err, &over) {
			s.counters.EventReadFail.Add(1)
			if ok, n := s.refused.Allow(); ok {
				s.log.Warn("thrift source: request refused: max-bytes-in-flight reached; closing the connection (the sender retries)",
					"remote", c.peer, "err", err, "refused_since_last_line", n)
			}
			return
		}
		if err != nil {
			s.report.Ended(c.peer, err, false)
			return
		}
		ok := c.handle(payload)
		s.budget.Release(held)
		if !ok {
			return
		}
	}
}

// handle decodes and processes one request and answers it; false ends the
// connection.
func (c *connection) handle(payload []byte) bool {
	s := c.s
	call, err := c.dec.Decode(payload)
	if err != nil {
		s.report.BadInput(c.peer, "bad request", err)
		if call.Method != "" {
			kind := int32(thrift.PROTOCOL_ERROR)
			if errors.Is(err, flumethrift.ErrUnknownMethod) {
				kind = thrift.UNKNOWN_METHOD
			}
			if b, e := c.w.Exception(call.Method, call.SeqID, kind, err.Error()); e == nil {
				c.reply(b)
			}
		}
		return false
	}
	st := c.process(call)
	b, err := c.w.Reply(call.Method, call.SeqID, st)
	return err == nil && c.reply(b)
}

func (c *connection) process(call flumethrift.Call) flume.Status {
	s := c.s
	kind := sluice.CallAppendBatch
	if call.Method == flumethrift.MethodAppend {
		kind = sluice.CallAppend
	}
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-s.runCtx.Done():
			return flume.Status_FAILED
		}
	}
	if err := s.proc.Process(s.runCtx, call.Events, kind); err != nil {
		if ok, held := s.chanFull.Allow(); ok {
			s.log.Warn("thrift source: channels refused a batch; answered FAILED so the sender retries",
				"remote", c.peer, "events", len(call.Events), "err", err, "refusals_not_logged", held)
		}
		return flume.Status_FAILED
	}
	return flume.Status_OK
}

func (c *connection) reply(b []byte) bool {
	_ = c.dc.Conn.SetWriteDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.s.log.Warn("thrift source: cannot answer the client; closing the connection", "remote", c.peer, "err", err)
		return false
	}
	return true
}
