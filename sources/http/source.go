package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Source is a running HTTP source.
type Source struct {
	cfg      Config
	name     string
	handler  handlerConfig
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	badLog   ratelog.Limiter // bad requests, one line per interval
	evictLog ratelog.Limiter // idle connections closed for new ones
	budget   *budget.Budget  // bytes of bodies being read and decoded, shared by the requests
	outMu    sync.Mutex
	outage   ratelog.Outage // channels refusing batches

	mu     sync.Mutex // serialises Start and Stop
	srv    *http.Server
	ln     *limitListener
	served chan struct{} // closed when Serve returned
}

// New builds the source without touching the network or the key store.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	h, _ := cfg.handler() // Validate accepted it
	s := &Source{cfg: *cfg, name: env.Name, handler: h, log: env.Logger,
		proc: env.Processor, counters: env.SourceCounters}
	s.outage.Log = env.Logger
	return s, nil
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

// serverTLS loads the key (key store or PEM pair) and applies Flume's
// protocol and cipher suite lists.
func (s *Source) serverTLS() (*tls.Config, error) {
	sp := s.cfg.tls()
	p := sp.Params()
	if s.cfg.CertFile == "" {
		cfg, warnings, err := tlsconf.Server(p)
		for _, w := range warnings {
			s.log.Warn("http source: " + w)
		}
		return cfg, err
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("ssl.certFile %q, ssl.keyFile %q: %w", s.cfg.CertFile, s.cfg.KeyFile, err)
	}
	// tlsconf applies the lists to any config; its client side needs no
	// key store, so it yields the versions and suites for this one too.
	lists, warnings, err := tlsconf.Client(p)
	for _, w := range warnings {
		s.log.Warn("http source: " + w)
	}
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: lists.MinVersion,
		MaxVersion: lists.MaxVersion, CipherSuites: lists.CipherSuites}, nil
}

// Start loads the TLS key (with ssl), binds the port and serves requests on
// its own goroutines.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("http source already started")
	}
	var tcfg *tls.Config
	if s.cfg.tls().SSL {
		var err error
		if tcfg, err = s.serverTLS(); err != nil {
			return fmt.Errorf("http source %s: ssl: %w", s.name, err)
		}
	}
	if keys := s.cfg.ignored(); len(keys) > 0 {
		s.log.Warn("http source: Jetty properties have no meaning for Sluice's HTTP server and are ignored", "keys", keys)
	}
	addr := net.JoinHostPort(s.cfg.Bind, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	tcp, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("http source %s: listen on %s: %w", s.name, addr, err)
	}
	s.budget = budget.Configured(s.cfg.MaxBytesInFlight)
	s.ln = newLimitListener(tcp, s.cfg.MaxConnections, s.counters.OpenConnection)
	s.ln.evicted = func() {
		if ok, held := s.evictLog.Allow(); ok {
			s.log.Warn("http source: max-connections reached; closed the connection idle longest to serve a new client",
				"max-connections", s.cfg.MaxConnections, "similar_lines_held_back", held)
		}
	}
	var ln net.Listener = s.ln
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
	}
	s.srv = &http.Server{
		Handler:           s,
		ConnState:         s.ln.connState,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// HTTP/1.1 only, as Flume's connector.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.served = make(chan struct{})
	go func(srv *http.Server, served chan struct{}) {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http source: serving stopped", "err", err)
		}
	}(s.srv, s.served)
	s.log.Info("http source listening", "addr", tcp.Addr().String(), "handler", s.cfg.Handler, "ssl", tcfg != nil,
		"max_bytes_in_flight", s.budget.Limit())
	return nil
}

// Stop stops accepting, closes idle connections and lets requests in
// progress finish (their batch is committed or refused, and answered); at
// ctx's deadline the rest are closed.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	srv, served := s.srv, s.served
	s.srv = nil
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("http source %s: requests still in progress at the stop deadline were cut off: %w", s.name, err)
	}
	<-served
	s.log.Info("http source stopped", "addr", s.ln.Addr().String())
	return err
}

// ServeHTTP answers one request: GET and POST carry a batch, anything else
// is 405.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		s.reply(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: send events with POST (or GET)")
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.counters.GenericProcessingFail.Add(1)
			s.log.Error("http source: unexpected failure handling a request", "remote", r.RemoteAddr, "panic", fmt.Sprint(p))
			s.reply(w, http.StatusInternalServerError, "unexpected error while handling the request")
		}
	}()
	events, held, err := s.events(w, r)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	err = s.proc.Process(r.Context(), events, sluice.CallAppendBatch)
	s.budget.Release(held)
	if err != nil {
		s.outMu.Lock()
		s.outage.Fail("http source: the channels refused a batch; answering 503 so clients retry", err, "events", len(events))
		s.outMu.Unlock()
		w.Header().Set("Retry-After", "1")
		s.reply(w, http.StatusServiceUnavailable, "the channels refused the batch (a channel may be full); retry later: "+err.Error())
		return
	}
	s.outMu.Lock()
	s.outage.OK("http source: the channels accept batches again")
	s.outMu.Unlock()
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// events reads the body and runs the handler. held is what the request
// holds of the budget until its events are handed on.
func (s *Source) events(w http.ResponseWriter, r *http.Request) (_ []*sluice.Event, held int64, _ error) {
	limit := s.cfg.MaxBodySize
	if s.handler.kind == "blob" || s.handler.kind == "BLOB" {
		limit = min(limit, s.handler.maxBlob)
	}
	var cs charset
	if s.handler.kind == "json" || s.handler.kind == "ndjson" {
		// The charset is checked before the body is read, as Flume does.
		var err error
		if cs, err = requestCharset(r); err != nil {
			return nil, 0, err
		}
	}
	body, held, err := readBody(w, r, limit, s.cfg.ReadTimeout, s.budget)
	if err != nil {
		return nil, 0, err
	}
	var events []*sluice.Event
	switch s.handler.kind {
	case "json":
		events, err = decodeJSONArray(cs, body)
	case "ndjson":
		events, err = decodeNDJSON(cs, body)
	case "blob":
		events, err = blobEvent(r, body, true, nil)
	default:
		events, err = blobEvent(r, body, false, s.handler.mandatory)
	}
	if err != nil {
		s.budget.Release(held)
		return nil, 0, err
	}
	return events, held, nil
}

// refuse answers a request the handler could not turn into events.
func (s *Source) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, err.Error()
	var re *requestError
	if errors.As(err, &re) {
		status = re.status
	}
	s.counters.EventReadFail.Add(1)
	if ok, held := s.badLog.Allow(); ok {
		s.log.Warn("http source: refused a request", "remote", r.RemoteAddr, "status", status, "reason", msg, "similar_lines_held_back", held)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if status == http.StatusRequestTimeout || status == http.StatusRequestEntityTooLarge || status == http.StatusServiceUnavailable {
		// The rest of the body is not read; the connection cannot be reused.
		w.Header().Set("Connection", "close")
	}
	s.reply(w, status, msg)
}

// reply writes a short plain-text answer, within the read timeout so a
// client that does not read cannot hold the connection.
func (s *Source) reply(w http.ResponseWriter, status int, msg string) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.ReadTimeout))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// readBody reads at most limit bytes of the body. Each read must bring
// data within readTimeout; memory grows only with what the client sent,
// each buffer taken from b (waiting up to readTimeout for room) before it
// is allocated. held is what the body holds of b, for the caller to
// release once its events are handed on; on error nothing is held.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, readTimeout time.Duration, b *budget.Budget) (body []byte, held int64, err error) {
	if r.ContentLength > limit {
		return nil, 0, &requestError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("the body (%d bytes) is larger than the %d bytes this source accepts", r.ContentLength, limit)}
	}
	if b != nil && r.ContentLength > b.Limit() {
		return nil, 0, overBudget(&budget.ExceededError{Want: r.ContentLength, Limit: b.Limit()})
	}
	rc := http.NewResponseController(w)
	size := 4096
	if r.ContentLength > 0 {
		size = int(min(r.ContentLength+1, 64<<10))
	}
	if err := b.Acquire(int64(size), readTimeout); err != nil {
		return nil, 0, overBudget(err)
	}
	held = int64(size)
	defer func() {
		if err != nil {
			b.Release(held)
			held = 0
		}
	}()
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			// Both arrays live during the copy: the new one is taken
			// before the old one is given back.
			nc := int(min(int64(2*cap(buf)), limit+1))
			if err := b.Acquire(int64(nc), readTimeout); err != nil {
				return nil, held, overBudget(err)
			}
			held += int64(nc)
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			b.Release(int64(cap(buf)))
			held -= int64(cap(buf))
			buf = nb
		}
		_ = rc.SetReadDeadline(time.Now().Add(readTimeout))
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, held, &requestError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("the body is larger than the %d bytes this source accepts", limit)}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			_ = rc.SetReadDeadline(time.Time{})
			return buf, held, nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, held, &requestError{status: http.StatusRequestTimeout,
				msg: fmt.Sprintf("the client sent nothing for %v after %d bytes of the body; request dropped", readTimeout, len(buf))}
		}
		return nil, held, badRequest("reading the body after %d bytes: %v", len(buf), err)
	}
}

// overBudget is the answer to a body that found no room in the budget: 503,
// so the client retries later.
func overBudget(err error) error {
	return &requestError{status: http.StatusServiceUnavailable,
		msg: "max-bytes-in-flight reached: the source holds as many request bytes as it may; retry later (" + err.Error() + ")"}
}
