package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/syslog"
	"github.com/sluiceio/sluice/internal/tcpserver"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// TCPSource is a running syslogtcp or multiport_syslogtcp source.
type TCPSource struct {
	what      string // "syslogtcp source"
	host      string
	ports     []int
	eventSize int
	batchSize int
	// charsets is the multiport source's character set per port (absent:
	// defCharset); check says whether messages are checked at all.
	charsets   map[int]charset
	defCharset charset
	check      bool
	portHeader string
	clients    clientHeaders
	tlsCfg     tlsconf.ServerProps
	parser     *syslog.Parser

	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	srvs      []*tcpserver.Server
	tls       *tls.Config
	runCtx    context.Context
	cancelRun context.CancelFunc

	badCharset ratelog.Limiter
	lostLog    ratelog.Limiter
	cutLog     ratelog.Limiter
}

// NewTCP builds a syslogtcp source without touching the network.
func NewTCP(env sluice.Env, cfg *TCPConfig) (*TCPSource, error) {
	return &TCPSource{
		what: "syslogtcp source", host: cfg.Host, ports: []int{cfg.Port},
		eventSize: max(cfg.EventSize, minEventSize), batchSize: cfg.BatchSize,
		clients: clientHeaders{ip: cfg.ClientIPHeader, name: cfg.ClientHostnameHeader},
		tlsCfg:  cfg.ServerProps,
		parser:  &syslog.Parser{Style: syslog.StyleUtils, Keep: syslog.ParseKeep(cfg.KeepFields)},
		log:     env.Logger, proc: env.Processor, counters: env.SourceCounters,
	}, nil
}

// NewMultiport builds a multiport_syslogtcp source without touching the
// network.
func NewMultiport(env sluice.Env, cfg *MultiportConfig) (*TCPSource, error) {
	ports, _ := cfg.ports() // Validate accepted them
	def, _ := lookupCharset(cfg.CharsetDefault)
	cs := map[int]charset{}
	for k, v := range cfg.CharsetPort {
		p, _ := strconv.Atoi(k)
		cs[p], _ = lookupCharset(v)
	}
	return &TCPSource{
		what: "multiport_syslogtcp source", host: cfg.Host, ports: ports,
		eventSize: max(cfg.EventSize, minEventSize), batchSize: cfg.BatchSize,
		charsets: cs, defCharset: def, check: true, portHeader: cfg.PortHeader,
		clients: clientHeaders{ip: cfg.ClientIPHeader, name: cfg.ClientHostnameHeader},
		tlsCfg:  cfg.ServerProps,
		parser:  &syslog.Parser{Style: syslog.StyleMultiport, Keep: syslog.ParseKeep(cfg.KeepFields), Loc: time.UTC},
		log:     env.Logger, proc: env.Processor, counters: env.SourceCounters,
	}, nil
}

// BatchSize is the most messages of one connection put in one Process call.
func (s *TCPSource) BatchSize() int { return s.batchSize }

// Addrs are the addresses the source listens on (one per port), or nil
// before Start. With port 0 they tell which port was picked.
func (s *TCPSource) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, srv := range s.srvs {
		if a := srv.Addr(); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// Start loads the key store (with ssl) and binds every port; a port that
// cannot be bound fails the start.
func (s *TCPSource) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srvs != nil {
		return errors.New(s.what + " already started")
	}
	s.tls = nil
	if s.tlsCfg.SSL {
		cfg, warnings, err := tlsconf.Server(s.tlsCfg.Params())
		for _, w := range warnings {
			s.log.Warn(s.what + ": " + w)
		}
		if err != nil {
			return fmt.Errorf("%s: ssl: %w", s.what, err)
		}
		s.tls = cfg
	}
	var lns []net.Listener
	for _, p := range s.ports {
		addr := net.JoinHostPort(s.host, strconv.Itoa(p))
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("%s: listen on %s: %w", s.what, addr, err)
		}
		lns = append(lns, ln)
	}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	for _, ln := range lns {
		port := ln.Addr().(*net.TCPAddr).Port
		srv := &tcpserver.Server{What: s.what, Log: s.log, Counters: s.counters,
			Serve: func(c net.Conn) { s.serve(c, port) },
			// A connection waiting for data stops at once, handing over
			// what it holds; one inside a hand-off finishes it first.
			Finish: func(c net.Conn) { _ = c.SetReadDeadline(time.Unix(1, 0)) }}
		srv.Start(ln)
		s.srvs = append(s.srvs, srv)
		s.log.Info(s.what+" listening", "addr", ln.Addr().String(), "ssl", s.tls != nil)
	}
	return nil
}

// Stop closes the listeners, then lets every connection hand over the
// messages it holds; at ctx's deadline the rest are closed.
func (s *TCPSource) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srvs == nil {
		return nil
	}
	var errs []error
	for _, srv := range s.srvs {
		addr, closed := srv.Stop(ctx, s.cancelRun)
		if closed > 0 {
			errs = append(errs, fmt.Errorf("%s: %d connection(s) still busy at the stop deadline were closed: %w", s.what, closed, ctx.Err()))
		}
		if addr != nil {
			s.log.Info(s.what+" stopped", "addr", addr.String())
		}
	}
	s.cancelRun()
	s.srvs = nil
	return errors.Join(errs...)
}

// initialBuf is a busy connection's read buffer; it grows to hold one
// message of eventSize when that is larger. A connection starts with
// firstBuf and grows when its reads fill the buffer, so that thousands of
// idle connections cost little.
const (
	initialBuf = 64 << 10
	firstBuf   = 1 << 10
)

func (s *TCPSource) serve(raw net.Conn, port int) {
	c := raw
	if s.tls != nil {
		tc := tls.Server(raw, s.tls)
		_ = raw.SetReadDeadline(time.Now().Add(30 * time.Second))
		if err := tc.Handshake(); err != nil {
			s.counters.GenericProcessingFail.Add(1)
			if ok, held := s.lostLog.Allow(); ok {
				s.log.Warn(s.what+": TLS handshake failed", "remote", raw.RemoteAddr().String(), "err", err, "similar_warnings_suppressed", held)
			}
			return
		}
		_ = raw.SetReadDeadline(time.Time{})
		c = tc
	}
	remote := raw.RemoteAddr()
	var extra map[string]string
	if s.portHeader != "" || s.clients.ip != "" || s.clients.name != "" {
		extra = map[string]string{}
		if s.portHeader != "" {
			extra[s.portHeader] = strconv.Itoa(port)
		}
		s.clients.add(s.runCtx, extra, remote)
	}
	cs, ok := s.charsets[port]
	if !ok {
		cs = s.defCharset
	}
	h := conn{s: s, c: c, extra: extra, cs: cs, fr: syslog.Framer{Max: s.eventSize},
		buf: make([]byte, firstBuf)}
	h.run()
}

// conn reads one client's stream; buf[start:end] is not yet framed.
type conn struct {
	s     *TCPSource
	c     net.Conn
	extra map[string]string
	cs    charset
	fr    syslog.Framer

	buf        []byte
	start, end int
	batch      []*sluice.Event
}

func (h *conn) run() {
	var readErr error
	filled := false // the last read filled the buffer
	for {
		eof := readErr != nil
		for {
			full := h.collect(eof)
			if len(h.batch) > 0 && !h.deliver() {
				return
			}
			if !full {
				break
			}
		}
		if eof {
			var ne net.Error
			if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, net.ErrClosed) && !(errors.As(readErr, &ne) && ne.Timeout()) {
				h.s.log.Debug(h.s.what+": read failed", "remote", h.c.RemoteAddr().String(), "err", readErr)
			}
			return
		}
		if h.start > 0 {
			h.end = copy(h.buf, h.buf[h.start:h.end])
			h.start = 0
		}
		if top := max(initialBuf, 2*(h.s.eventSize+16)); len(h.buf) < top && (filled || h.end == len(h.buf)) {
			nb := make([]byte, min(max(2*len(h.buf), initialBuf), top))
			copy(nb, h.buf[:h.end])
			h.buf = nb
		}
		var n int
		n, readErr = h.c.Read(h.buf[h.end:])
		filled = h.end+n == len(h.buf)
		h.end += n
	}
}

// collect frames messages into h.batch, up to batchSize; it reports
// whether it stopped because the batch was full.
func (h *conn) collect(eof bool) bool {
	for len(h.batch) < h.s.batchSize {
		n, msg, cut := h.fr.Next(h.buf[h.start:h.end], eof)
		if n == 0 {
			return false
		}
		h.start += n
		if msg == nil {
			continue
		}
		h.batch = append(h.batch, h.event(msg, cut))
	}
	return true
}

func (h *conn) event(msg []byte, cut bool) *sluice.Event {
	var headers map[string]string
	var body []byte
	if h.s.check && !h.cs.valid(msg) {
		h.s.counters.EventReadFail.Add(1)
		if ok, held := h.s.badCharset.Allow(); ok {
			h.s.log.Warn(h.s.what+": message not valid in its character set; kept and marked Invalid",
				"remote", h.c.RemoteAddr().String(), "similar_warnings_suppressed", held)
		}
		headers = map[string]string{syslog.HeaderStatus: syslog.StatusInvalid}
		body = append([]byte(nil), msg...)
	} else {
		headers, body = h.s.parser.Parse(msg, cut)
	}
	if cut {
		if ok, held := h.s.cutLog.Allow(); ok {
			h.s.log.Warn(h.s.what+": message longer than eventSize; cut there and marked Incomplete",
				"remote", h.c.RemoteAddr().String(), "eventSize", h.s.eventSize, "similar_warnings_suppressed", held)
		}
	}
	for k, v := range h.extra {
		headers[k] = v
	}
	return &sluice.Event{Headers: headers, Body: body}
}

// deliver hands the batch to the channels, retrying while they refuse it
// (the connection is not read meanwhile, which slows the sender down). It
// returns false when the source stopped before they took it.
func (h *conn) deliver() bool {
	err := h.s.proc.ProcessRetry(h.s.runCtx, h.batch, sluice.CallEvents, sluice.Retry{})
	n := len(h.batch)
	clear(h.batch)
	h.batch = h.batch[:0]
	if err != nil {
		h.s.log.Warn(h.s.what+": stopped before the channels took the messages of a connection; they are lost",
			"remote", h.c.RemoteAddr().String(), "messages", n, "err", err)
		return false
	}
	return true
}

// valid reports whether b is valid text in the character set.
func (c charset) valid(b []byte) bool {
	switch c {
	case csUTF8:
		return utf8.Valid(b)
	case csASCII:
		for _, x := range b {
			if x >= 0x80 {
				return false
			}
		}
	}
	return true
}
