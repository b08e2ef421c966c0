// Package nullsink is the null sink: it takes events from its channel in
// batches, commits and discards them. It is the sink benchmarks use, so it
// does no per-event work beyond the counters.
package nullsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the null sink's configuration.
type Config struct {
	BatchSize       int   `flume:"batchSize" doc:"maximum number of events taken in one transaction"`
	LogEveryNEvents int64 `flume:"logEveryNEvents" doc:"log an INFO line each time this many more events have been discarded"`
}

// Validate checks ranges.
func (c *Config) Validate() error {
	var errs []error
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	if c.LogEveryNEvents < 1 {
		errs = append(errs, conf.Invalid("logEveryNEvents", "%q must be at least 1", fmt.Sprint(c.LogEveryNEvents)))
	}
	return errors.Join(errs...)
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "null",
		Aliases:   []string{"org.apache.flume.sink.NullSink"},
		Stability: sluice.Stable,
		Doc:       "Takes events from its channel in batches and discards them. Useful for testing and benchmarks.",
		Notes: "Unlike Flume's null sink, this one reports the standard sink counters " +
			"(EventDrainAttemptCount, EventDrainSuccessCount, Batch*Count). " +
			"A call that drained any events reports READY even when the batch was short; " +
			"only an empty channel reports BACKOFF.",
		Config: func() any { return &Config{BatchSize: 100, LogEveryNEvents: 10000} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return New(env, *cfg.(*Config))
		},
		Example: "a1.sinks = k1\n" +
			"a1.sinks.k1.type = null\n" +
			"a1.sinks.k1.channel = c1\n" +
			"a1.sinks.k1.batchSize = 1000\n",
	})
}

// Sink is the null sink.
type Sink struct {
	cfg     Config
	name    string
	log     *slog.Logger
	ch      sluice.Channel
	c       *sluice.SinkCounters
	drained int64 // only touched by Process, which the runner calls serially
}

// New builds a null sink for env.Channel.
func New(env sluice.Env, cfg Config) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := env.SinkCounters
	if c == nil {
		c = sluice.NewSinkCounters()
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{cfg: cfg, name: env.Name, log: log, ch: env.Channel, c: c}, nil
}

// Start records the start time.
func (s *Sink) Start(context.Context) error {
	if s.ch == nil {
		return fmt.Errorf("null sink %s: no channel", s.name)
	}
	s.c.Started()
	return nil
}

// Stop records the stop time; the null sink holds nothing to flush.
func (s *Sink) Stop(context.Context) error {
	s.c.Stopped()
	return nil
}

// Process takes up to batchSize events and commits, discarding them.
func (s *Sink) Process(ctx context.Context) (sluice.Status, error) {
	tx := s.ch.Begin()
	events, err := tx.Take(s.cfg.BatchSize)
	if err != nil {
		s.c.ChannelReadFail.Add(1)
		_ = tx.Rollback()
		return sluice.Backoff, fmt.Errorf("null sink %s: take: %w", s.name, err)
	}
	n := len(events)
	s.c.CountBatch(n, s.cfg.BatchSize)
	if n > 0 {
		s.c.EventDrainAttempt.Add(int64(n))
	}
	if err := tx.Commit(); err != nil {
		s.c.ChannelReadFail.Add(1)
		_ = tx.Rollback()
		return sluice.Backoff, fmt.Errorf("null sink %s: commit: %w", s.name, err)
	}
	if n == 0 {
		return sluice.Backoff, nil
	}
	s.c.EventDrainSuccess.Add(int64(n))
	before := s.drained
	s.drained += int64(n)
	if every := s.cfg.LogEveryNEvents; s.drained/every != before/every {
		s.log.Info(fmt.Sprintf("null sink %s discarded %d events", s.name, s.drained))
	}
	return sluice.Ready, nil
}

// BatchSize is the most events one Process call takes (sluice.Batcher), so
// the agent can refuse a batch larger than the channel's transactionCapacity.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }
