package thrift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Sink is a running thrift sink.
type Sink struct {
	cfg      Config
	fixes    []string
	name     string
	addr     string
	protocol flumethrift.Protocol
	log      *slog.Logger
	c        *sluice.SinkCounters

	mu          sync.Mutex // guards opts, client and connectedAt against Stop
	opts        flumethrift.DialOptions
	started     bool
	client      *flumethrift.Client
	connectedAt time.Time
}

// New builds the sink; it connects only when it has events to send.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	c, fixes := cfg.normalized()
	p, note, _ := flumethrift.ParseProtocol(c.Protocol) // Validate accepted it
	if note != "" {
		fixes = append(fixes, note)
	}
	return &Sink{cfg: c, fixes: fixes, name: env.Name, protocol: p,
		addr: net.JoinHostPort(c.Hostname, strconv.Itoa(c.Port)),
		log:  env.Logger, c: env.SinkCounters}, nil
}

// BatchSize is the most events one transaction takes.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start loads the trust store (with ssl) and prepares the connection
// settings; the connection itself is made by the first batch.
func (s *Sink) Start(context.Context) error {
	for _, f := range s.fixes {
		s.log.Warn("thrift sink: " + f)
	}
	opts := flumethrift.DialOptions{
		Protocol:       s.protocol,
		ConnectTimeout: s.cfg.ConnectTimeout,
		RequestTimeout: s.cfg.RequestTimeout,
	}
	if s.cfg.SSL {
		tcfg, warnings, err := tlsconf.Client(s.cfg.Params())
		for _, w := range warnings {
			s.log.Warn("thrift sink: " + w)
		}
		if err != nil {
			return fmt.Errorf("thrift sink %s: ssl: %w", s.name, err)
		}
		if s.cfg.TrustAllCerts {
			s.log.Warn("thrift sink: trust-all-certs is true; the server's certificate is not verified")
		}
		opts.TLS = tcfg
	}
	s.mu.Lock()
	s.opts, s.started = opts, true
	s.mu.Unlock()
	return nil
}

// Stop closes the connection. A batch in flight fails and is rolled back.
func (s *Sink) Stop(context.Context) error {
	s.mu.Lock()
	s.started = false
	s.mu.Unlock()
	s.disconnect("sink stopping")
	return nil
}

// Deliver sends the batch in one appendBatch call and returns once the
// source answered OK.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	if iv := s.cfg.ResetConnectionInterval; iv > 0 {
		s.mu.Lock()
		old := s.client != nil && time.Since(s.connectedAt) >= iv
		s.mu.Unlock()
		if old {
			s.disconnect("reset-connection-interval reached")
		}
	}
	if err := s.send(ctx, events); err != nil {
		return fmt.Errorf("thrift sink %s: %w", s.name, err)
	}
	return nil
}

func (s *Sink) send(ctx context.Context, events []*sluice.Event) error {
	cl, err := s.connection(ctx)
	if err != nil {
		return err
	}
	if err := cl.AppendBatch(ctx, events); err != nil {
		// Whatever went wrong, this connection is done with: Flume's
		// client destroys it and opens another.
		s.disconnect("")
		var se *flumethrift.StatusError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: %w (the source could not take the batch; it is rolled back and sent again)", s.addr, err)
		}
		return fmt.Errorf("%s: %w", s.addr, err)
	}
	return nil
}

func (s *Sink) connection(ctx context.Context) (*flumethrift.Client, error) {
	s.mu.Lock()
	started, cl, opts := s.started, s.client, s.opts
	s.mu.Unlock()
	if !started {
		return nil, fmt.Errorf("sink not started: %w", sluice.ErrClosed)
	}
	if cl != nil {
		return cl, nil
	}
	// Dial without the lock, so Stop is never held up by a slow connect.
	cl, err := flumethrift.Dial(ctx, s.addr, opts)
	if err != nil {
		s.c.ConnectionFailed.Add(1)
		return nil, fmt.Errorf("connect to %s: %w", s.addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		cl.Close()
		return nil, fmt.Errorf("sink stopped: %w", sluice.ErrClosed)
	}
	s.c.ConnectionCreated.Add(1)
	s.client, s.connectedAt = cl, time.Now()
	s.log.Info("thrift sink connected", "addr", s.addr, "protocol", s.protocol.String(), "ssl", s.cfg.SSL)
	return cl, nil
}

func (s *Sink) disconnect(why string) {
	s.mu.Lock()
	cl := s.client
	s.client = nil
	s.mu.Unlock()
	if cl == nil {
		return
	}
	if err := cl.Close(); err != nil {
		s.log.Debug("thrift sink: closing the connection", "addr", s.addr, "err", err)
	}
	s.c.ConnectionClosed.Add(1)
	if why != "" {
		s.log.Info("thrift sink disconnected", "addr", s.addr, "reason", why)
	}
}
