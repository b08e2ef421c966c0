package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Sink is a running Elasticsearch sink.
type Sink struct {
	cfg   Config
	name  string
	log   *slog.Logger
	c     *sluice.SinkCounters
	hosts []string
	kind  string // logstash or dynamic
	auth  string // the Authorization header, or ""
	path  string // /_bulk with its query
	now   func() time.Time

	next atomic.Uint32 // the host to try first
	mu   sync.Mutex
	tr   *http.Transport
	hc   *http.Client
	body bytes.Buffer
	zbuf bytes.Buffer
	zw   *gzip.Writer
}

// New builds the sink; it connects to nothing (Deliver does).
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	hosts, err := cfg.hosts()
	if err != nil { // Validate accepted it; keep the check cheap and safe
		return nil, fmt.Errorf("elasticsearch sink %s: hostNames: %w", env.Name, err)
	}
	s := &Sink{cfg: *cfg, name: env.Name, log: env.Logger, c: env.SinkCounters, hosts: hosts,
		kind: cfg.serializerKind(), now: time.Now}
	switch {
	case cfg.APIKey != "":
		s.auth = "ApiKey " + cfg.APIKey
	case cfg.Username != "":
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(cfg.Username, cfg.Password)
		s.auth = r.Header.Get("Authorization")
	}
	// The answer shrinks to what classify reads (both servers know
	// filter_path).
	q := url.Values{"filter_path": {"errors,items.*._index,items.*.status,items.*.error"}}
	if cfg.Pipeline != "" {
		q.Set("pipeline", cfg.Pipeline)
	}
	s.path = "/_bulk?" + q.Encode()
	return s, nil
}

// BatchSize is the most events one transaction (and bulk request) takes.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start loads the CA file and prepares the HTTP client.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.CAFile != "" {
		pool, err := tlsconf.LoadTrustStore(s.cfg.CAFile, "", "PEM")
		if err != nil {
			return fmt.Errorf("elasticsearch sink %s: tls.caFile: %w", s.name, err)
		}
		tcfg.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
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
		TLSClientConfig:     tcfg,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		Proxy:               http.ProxyFromEnvironment,
	}
	s.hc = &http.Client{Transport: s.tr,
		// A redirect would resend the bulk body elsewhere, credentials too.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if s.cfg.IndexType != "" && s.cfg.IndexType != "log" {
		s.log.Info("elasticsearch sink: indexType is not sent (servers since Elasticsearch 7 have no mapping types)", "indexType", s.cfg.IndexType)
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

// build writes the bulk body for events and returns which event each item
// is, and the events rejected before sending (a bad timestamp header).
func (s *Sink) build(events []*sluice.Event) (sent []int, rejected []sluice.Rejection) {
	s.body.Reset()
	op := "index"
	if s.cfg.DataStream {
		op = "create"
	}
	now := s.now()
	for i, e := range events {
		t, added, err := eventTime(e, now)
		if err != nil {
			rejected = append(rejected, sluice.Rejection{Index: i, Reason: err})
			continue
		}
		s.body.WriteString(`{"` + op + `":{"_index":`)
		appendString(&s.body, []byte(indexName(s.cfg.IndexName, s.cfg.daily(), e, t)))
		if s.cfg.IDHeader != "" {
			if id := e.Headers[s.cfg.IDHeader]; id != "" {
				s.body.WriteString(`,"_id":`)
				appendString(&s.body, []byte(id))
			}
		}
		s.body.WriteString("}}\n")
		appendDocument(&s.body, s.kind, e, t, added)
		s.body.WriteByte('\n')
		sent = append(sent, i)
	}
	return sent, rejected
}

// bulkResponse is the part of a bulk answer the sink reads.
type bulkResponse struct {
	Errors bool                         `json:"errors"`
	Items  []map[string]json.RawMessage `json:"items"`
}

type bulkItem struct {
	Index  string          `json:"_index"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// itemError is the server's reason for one item.
type itemError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Cause  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

func (e itemError) String() string {
	s := e.Type + ": " + e.Reason
	if e.Cause != nil {
		s += " (caused by " + e.Cause.Type + ": " + e.Cause.Reason + ")"
	}
	return s
}

// classify reads a bulk answer item by item. sent maps item i to its event.
func classify(body []byte, sent []int, createIdempotent bool) (retry []int, cause error, rejected []sluice.Rejection, err error) {
	var head struct {
		Errors *bool `json:"errors"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.Errors == nil {
		return nil, nil, nil, fmt.Errorf("reading the bulk answer: %v: %s", err, snippet(body))
	}
	if !*head.Errors {
		// Every item succeeded: no need to read them one by one.
		return nil, nil, nil, nil
	}
	var r bulkResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, nil, nil, fmt.Errorf("reading the bulk answer: %w", err)
	}
	if len(r.Items) != len(sent) {
		return nil, nil, nil, fmt.Errorf("the bulk answer has %d items for %d documents", len(r.Items), len(sent))
	}
	for i, m := range r.Items {
		var it bulkItem
		for _, raw := range m { // one key: index, create, update or delete
			if err := json.Unmarshal(raw, &it); err != nil {
				return nil, nil, nil, fmt.Errorf("reading bulk answer item %d: %w", i, err)
			}
		}
		if it.Status/100 == 2 || (it.Status == http.StatusConflict && createIdempotent) {
			continue
		}
		reason := string(it.Error)
		var ie itemError
		if json.Unmarshal(it.Error, &ie) == nil && ie.Type != "" {
			reason = ie.String()
		}
		e := fmt.Errorf("index %s: status %d: %s", it.Index, it.Status, reason)
		if it.Status == http.StatusTooManyRequests || it.Status >= 500 {
			retry = append(retry, sent[i])
			if cause == nil {
				cause = e
			}
			continue
		}
		rejected = append(rejected, sluice.Rejection{Index: sent[i], Reason: e})
	}
	return retry, cause, rejected, nil
}

// Deliver sends the batch in one bulk request and reads the answer item by
// item.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	s.mu.Lock()
	hc := s.hc
	s.mu.Unlock()
	if hc == nil {
		return errors.New("elasticsearch sink not started")
	}
	sent, rejected := s.build(events)
	if len(sent) == 0 {
		if len(rejected) == 0 {
			return nil
		}
		return &sluice.DeliveryError{Rejected: rejected}
	}
	body, err := s.post(ctx, hc)
	if err != nil {
		if len(rejected) == 0 {
			return err
		}
		return &sluice.DeliveryError{Retry: sent, Cause: err, Rejected: rejected}
	}
	retry, cause, rej, err := classify(body, sent, s.cfg.DataStream && s.cfg.IDHeader != "")
	if err != nil {
		// The server may have indexed the documents; sending them again
		// duplicates only what has no idHeader.
		return fmt.Errorf("elasticsearch sink %s: %w", s.name, err)
	}
	rejected = append(rejected, rej...)
	if len(retry) == 0 && len(rejected) == 0 {
		return nil
	}
	return &sluice.DeliveryError{Retry: retry, Cause: cause, Rejected: rejected}
}

// post sends s.body to the servers in turn, starting with the next one,
// and returns the answer of the first that answers 2xx.
func (s *Sink) post(ctx context.Context, hc *http.Client) ([]byte, error) {
	payload := s.body.Bytes()
	if s.cfg.Compression == "gzip" {
		s.zbuf.Reset()
		if s.zw == nil {
			s.zw = gzip.NewWriter(&s.zbuf)
		} else {
			s.zw.Reset(&s.zbuf)
		}
		_, _ = s.zw.Write(payload) // a bytes.Buffer does not fail
		_ = s.zw.Close()
		payload = s.zbuf.Bytes()
	}
	start := int(s.next.Add(1)-1) % len(s.hosts)
	var errs []error
	for k := range s.hosts {
		host := s.hosts[(start+k)%len(s.hosts)]
		body, err := s.postTo(ctx, hc, host, payload)
		if err == nil {
			return body, nil
		}
		if errors.Is(err, errAuth) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// errAuth marks a 401/403: other servers of the cluster would say the same.
var errAuth = errors.New("credentials refused")

func (s *Sink) postTo(ctx context.Context, hc *http.Client, host string, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, host+s.path, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("elasticsearch sink %s: %s: %w", s.name, host, err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	if s.cfg.Compression == "gzip" {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch sink %s: POST %s%s: %w", s.name, host, s.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("elasticsearch sink %s: reading the answer of %s: %w", s.name, host, err)
	}
	switch {
	case resp.StatusCode/100 == 2:
		return body, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		how := "no credentials were sent: set username/password or apiKey"
		switch {
		case s.cfg.APIKey != "":
			how = "check apiKey"
		case s.cfg.Username != "":
			how = fmt.Sprintf("check username %q and password", s.cfg.Username)
		}
		return nil, fmt.Errorf("elasticsearch sink %s: %s answered %d: %w (%s); the events stay in the channel", s.name, host, resp.StatusCode, errAuth, how)
	}
	return nil, fmt.Errorf("elasticsearch sink %s: %s answered %d: %s", s.name, host, resp.StatusCode, snippet(body))
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return strings.ToValidUTF8(string(b), "?")
}
