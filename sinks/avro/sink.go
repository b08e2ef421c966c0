package avro

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/sinkconn"
)

// Sink is a running avro sink.
type Sink struct {
	cfg     Config
	fixes   []string
	name    string
	deflate bool
	log     *slog.Logger
	conns   sinkconn.Holder[*avroipc.Client]
}

// New builds the sink; it connects only when it has events to send.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	c, fixes := cfg.normalized()
	deflate, _ := compression(c.CompressionType)
	s := &Sink{cfg: c, fixes: fixes, name: env.Name, deflate: deflate, log: env.Logger}
	s.conns = sinkconn.Holder[*avroipc.Client]{What: "avro sink",
		Addr: net.JoinHostPort(c.Hostname, strconv.Itoa(c.Port)), Log: env.Logger, Counters: env.SinkCounters,
		Reset: c.ResetConnectionInterval, Attrs: []any{"compression", c.CompressionType, "ssl", c.SSL}}
	return s, nil
}

// BatchSize is the most events one Process call takes.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start loads the trust store (with ssl) and prepares the connection
// settings; the connection itself is made by the first batch.
func (s *Sink) Start(context.Context) error {
	for _, f := range s.fixes {
		s.log.Warn("avro sink: " + f)
	}
	opts := avroipc.DialOptions{
		ConnectTimeout: s.cfg.ConnectTimeout,
		RequestTimeout: s.cfg.RequestTimeout,
		Deflate:        s.deflate,
		DeflateLevel:   s.cfg.CompressionLevel,
	}
	tcfg, err := s.cfg.ClientProps.Load(s.log, "avro sink")
	if err != nil {
		return fmt.Errorf("avro sink %s: ssl: %w", s.name, err)
	}
	opts.TLS = tcfg
	s.conns.Start(func(ctx context.Context) (*avroipc.Client, error) {
		return avroipc.Dial(ctx, s.conns.Addr, opts)
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
	if err := s.send(ctx, events); err != nil {
		return fmt.Errorf("avro sink %s: %w", s.name, err)
	}
	return nil
}

func (s *Sink) send(ctx context.Context, events []*sluice.Event) error {
	cl, err := s.conns.Get(ctx)
	if err != nil {
		return err
	}
	if err := cl.AppendBatch(ctx, events); err != nil {
		// Whatever went wrong, this connection is done with: Flume marks
		// its client dead and builds a new one.
		s.conns.Drop("")
		var se *avroipc.StatusError
		if errors.As(err, &se) {
			return fmt.Errorf("%w (the source could not take the batch; it will be sent again)", err)
		}
		return err
	}
	return nil
}
