package thrift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/sinkconn"
)

// Sink is a running thrift sink.
type Sink struct {
	cfg      Config
	fixes    []string
	name     string
	protocol flumethrift.Protocol
	log      *slog.Logger
	conns    sinkconn.Holder[*flumethrift.Client]
}

// New builds the sink; it connects only when it has events to send.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	c, fixes := cfg.normalized()
	p, note, _ := flumethrift.ParseProtocol(c.Protocol) // Validate accepted it
	if note != "" {
		fixes = append(fixes, note)
	}
	s := &Sink{cfg: c, fixes: fixes, name: env.Name, protocol: p, log: env.Logger}
	s.conns = sinkconn.Holder[*flumethrift.Client]{What: "thrift sink",
		Addr: net.JoinHostPort(c.Hostname, strconv.Itoa(c.Port)), Log: env.Logger, Counters: env.SinkCounters,
		Reset: c.ResetConnectionInterval, Attrs: []any{"protocol", p.String(), "ssl", c.SSL}}
	return s, nil
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
	tcfg, err := s.cfg.ClientProps.Load(s.log, "thrift sink")
	if err != nil {
		return fmt.Errorf("thrift sink %s: ssl: %w", s.name, err)
	}
	opts.TLS = tcfg
	s.conns.Start(func(ctx context.Context) (*flumethrift.Client, error) {
		return flumethrift.Dial(ctx, s.conns.Addr, opts)
	})
	return nil
}

// Stop closes the connection. A batch in flight fails and is rolled back.
func (s *Sink) Stop(context.Context) error {
	s.conns.Stop()
	return nil
}

// Deliver sends the batch in one appendBatch call and returns once the
// source answered OK.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	cl, err := s.conns.Get(ctx)
	if err != nil {
		return fmt.Errorf("thrift sink %s: %w", s.name, err)
	}
	if err := cl.AppendBatch(ctx, events); err != nil {
		// Whatever went wrong, this connection is done with: Flume's
		// client destroys it and opens another.
		s.conns.Drop("")
		var se *flumethrift.StatusError
		if errors.As(err, &se) {
			return fmt.Errorf("thrift sink %s: %s: %w (the source could not take the batch; it is rolled back and sent again)", s.name, s.conns.Addr, err)
		}
		return fmt.Errorf("thrift sink %s: %s: %w", s.name, s.conns.Addr, err)
	}
	return nil
}
