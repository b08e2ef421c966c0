package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/ratelog"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Sink is a running HTTP sink.
type Sink struct {
	cfg      Config
	name     string
	shown    string // the endpoint as logs and errors show it (shownURL)
	log      *slog.Logger
	c        *sluice.SinkCounters
	rollback rules
	backoff  rules
	ctype    string
	classes  [6]*atomic.Int64 // answers per status class, [2] = 2XX

	emptyLog, dropLog ratelog.Limiter
	// retryHead is the first event handed back for a retry inside the
	// transaction; a Deliver that starts with it is that retry.
	retryHead *sluice.Event
	outage    ratelog.Outage // failures while part of a batch is delivered

	mu     sync.Mutex
	tr     *http.Transport
	client *http.Client
	buf    bytes.Buffer
}

// New builds the sink; it connects to nothing (Deliver does).
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	s := &Sink{cfg: *cfg, name: env.Name, shown: shownURL(cfg.Endpoint), log: env.Logger, c: env.SinkCounters, ctype: cfg.ContentTypeHeader}
	// Validate accepted the rules.
	s.rollback, _ = parseRules("rollback", cfg.DefaultRollback, cfg.Rollback)
	s.backoff, _ = parseRules("backoff", cfg.DefaultBackoff, cfg.Backoff)
	for i := 2; i <= 5; i++ {
		s.classes[i] = env.SinkCounters.Get(fmt.Sprintf("HttpResponse%dXXCount", i))
	}
	if cfg.ContentTypeHeader == "text/plain" {
		switch cfg.BatchFormat {
		case formatJSON:
			s.ctype = "application/json; charset=UTF-8"
		case formatNDJSON:
			s.ctype = "application/x-ndjson"
		}
	}
	s.emptyLog.Every, s.dropLog.Every = time.Minute, 10*time.Second
	s.outage.Log = env.Logger
	return s, nil
}

// BatchSize is the most events one transaction takes.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start loads the trust store and prepares the HTTP client.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tcfg := &tls.Config{}
	if p := s.cfg.trustParams(); p.TrustStore != "" {
		pool, err := tlsconf.LoadTrustStore(p.TrustStore, p.TrustStorePassword, p.TrustStoreType)
		if err != nil {
			return fmt.Errorf("http sink %s: truststore: %w", s.name, err)
		}
		tcfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: s.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	s.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				s.c.ConnectionFailed.Add(1)
				return nil, err
			}
			s.c.ConnectionCreated.Add(1)
			return &countedConn{Conn: conn, closed: s.c.ConnectionClosed}, nil
		},
		TLSClientConfig:       tcfg,
		TLSHandshakeTimeout:   s.cfg.ConnectTimeout,
		ResponseHeaderTimeout: s.cfg.RequestTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		Proxy:                 http.ProxyFromEnvironment,
	}
	s.client = &http.Client{Transport: s.tr,
		// A redirect would resend the body elsewhere; the answer's status
		// is what the rules judge, as in Flume's HttpURLConnection (which
		// does not follow redirects for POST).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if s.rollback.decide(200) {
		s.log.Warn("http sink: a 200 answer rolls the event back and it is sent again, as Flume's defaults do; set rollback.2XX = false (and backoff.2XX = false) unless the endpoint is meant to see events repeatedly", "endpoint", s.shown)
	} else if s.backoff.decide(200) {
		s.log.Warn("http sink: the sink pauses after every 200 answer (backoff, as Flume's defaults do); set backoff.2XX = false for full speed", "endpoint", s.shown)
	}
	return nil
}

// Stop closes idle connections; the core calls it once no Deliver runs.
func (s *Sink) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tr != nil {
		s.tr.CloseIdleConnections()
		s.tr = nil
	}
	return nil
}

type countedConn struct {
	net.Conn
	closed *atomic.Int64
	once   sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.closed.Add(1) })
	return c.Conn.Close()
}

// Deliver sends the batch: one POST per event, or one for the whole batch
// in the json and ndjson formats.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	if s.client == nil {
		return errors.New("http sink not started")
	}
	retrying := s.retryHead != nil && len(events) > 0 && events[0] == s.retryHead
	s.retryHead = nil
	var err error
	if s.cfg.BatchFormat != formatNone {
		err = s.deliverBatch(ctx, events)
	} else {
		err = s.deliverEach(ctx, events, retrying)
	}
	var de *sluice.DeliveryError
	switch {
	case err == nil:
		s.outage.OK("http sink: the endpoint takes events again")
	case errors.As(err, &de) && len(de.Retry) > 0:
		// Part of the batch was delivered: the rest waits in the
		// transaction, so what was delivered is not sent twice. The core
		// logs only whole-batch failures; this logs these.
		s.retryHead = events[de.Retry[0]]
		if !errors.Is(de.Cause, errPause) {
			s.outage.Fail("http sink: delivery failed in the middle of a batch; the rest is retried with backoff", de.Cause, "endpoint", s.shown, "events", len(de.Retry))
		}
	}
	return err
}

// errPause marks a retry that is only the backoff rule's pause.
var errPause = errors.New("pause (backoff rule)")

func (s *Sink) deliverEach(ctx context.Context, events []*sluice.Event, retrying bool) error {
	// A failure before anything of this transaction was delivered rolls
	// it back (so a failover group can try another sink); after, the rest
	// is retried inside it.
	retryFrom := func(from int, cause error) error {
		if from == 0 && !retrying {
			return cause
		}
		idx := make([]int, 0, len(events)-from)
		for j := from; j < len(events); j++ {
			idx = append(idx, j)
		}
		return &sluice.DeliveryError{Retry: idx, Cause: cause}
	}
	for i, e := range events {
		if len(e.Body) == 0 {
			// Flume takes an empty event off the channel without sending it.
			if ok, held := s.emptyLog.Allow(); ok {
				s.log.Warn("http sink: an event with an empty body was not sent and is taken off the channel, as in Flume", "similar_held_back", held)
			}
			continue
		}
		status, answer, err := s.post(ctx, e.Body)
		if err != nil {
			return retryFrom(i, err)
		}
		if s.rollback.decide(status) {
			return retryFrom(i, fmt.Errorf("endpoint %s answered %d%s: the event goes back to the channel (rollback rule)", s.shown, status, answer))
		}
		s.dropped(status, answer, 1)
		if s.backoff.decide(status) && i < len(events)-1 {
			return retryFrom(i+1, fmt.Errorf("endpoint %s answered %d: %w", s.shown, status, errPause))
		}
	}
	return nil
}

// dropped logs events the rules took off the channel although the endpoint
// did not accept them.
func (s *Sink) dropped(status int, answer string, n int) {
	if status < 300 {
		return
	}
	if ok, held := s.dropLog.Allow(); ok {
		s.log.Warn("http sink: endpoint refused events; they are dropped because rollback is false for this status", "status", status, "answer", answer, "events", n, "similar_held_back", held)
	}
}

type jsonEvent struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// deliverBatch sends the batch in one request.
func (s *Sink) deliverBatch(ctx context.Context, events []*sluice.Event) error {
	s.buf.Reset()
	if s.cfg.BatchFormat == formatJSON {
		s.buf.WriteByte('[')
	}
	var rejected []sluice.Rejection
	var sent []int
	for i, e := range events {
		if !utf8.Valid(e.Body) {
			rejected = append(rejected, sluice.Rejection{Index: i,
				Reason: fmt.Errorf("batchFormat %s: the body is not UTF-8 text and cannot be a JSON string", s.cfg.BatchFormat)})
			continue
		}
		b, err := json.Marshal(jsonEvent{Headers: e.Headers, Body: string(e.Body)})
		if err != nil {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: err})
			continue
		}
		if len(sent) > 0 && s.cfg.BatchFormat == formatJSON {
			s.buf.WriteByte(',')
		}
		s.buf.Write(b)
		if s.cfg.BatchFormat == formatNDJSON {
			s.buf.WriteByte('\n')
		}
		sent = append(sent, i)
	}
	if s.cfg.BatchFormat == formatJSON {
		s.buf.WriteByte(']')
	}
	if len(sent) == 0 {
		return &sluice.DeliveryError{Rejected: rejected}
	}
	var cause error
	status, answer, err := s.post(ctx, s.buf.Bytes())
	switch {
	case err != nil:
		cause = err
	case s.rollback.decide(status):
		cause = fmt.Errorf("endpoint %s answered %d%s: the batch goes back to the channel (rollback rule)", s.shown, status, answer)
	default:
		s.dropped(status, answer, len(sent))
	}
	if cause == nil && len(rejected) == 0 {
		return nil
	}
	if cause != nil && len(rejected) == 0 {
		return cause
	}
	de := &sluice.DeliveryError{Rejected: rejected}
	if cause != nil {
		de.Retry, de.Cause = sent, cause
	}
	return de
}

// post sends one request and returns the status and, for an error status,
// the start of the answer's body.
func (s *Sink) post(ctx context.Context, body []byte) (int, string, error) {
	// Flume bounds the connect and the wait for the answer; the upload
	// gets a second per MiB on top, so a stalled endpoint cannot hold the
	// sink forever.
	limit := s.cfg.ConnectTimeout + s.cfg.RequestTimeout + time.Duration(len(body)>>20+1)*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("http sink %s: endpoint %q: %w", s.name, s.shown, hideURL(err, s.shown))
	}
	req.Header.Set("Content-Type", s.ctype)
	req.Header.Set("Accept", s.cfg.AcceptHeader)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("http sink %s: POST %s: %w", s.name, s.shown, hideURL(err, s.shown))
	}
	defer resp.Body.Close()
	if c := resp.StatusCode / 100; c >= 2 && c <= 5 {
		s.classes[c].Add(1)
	}
	var answer string
	if resp.StatusCode >= 300 {
		head := make([]byte, 256)
		n, _ := io.ReadFull(resp.Body, head)
		if n > 0 {
			answer = fmt.Sprintf(" (%q)", bytes.TrimSpace(head[:n]))
		}
	}
	// Read what is left (within reason) so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, answer, nil
}
