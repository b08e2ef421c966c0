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
		Factory: sluice.MakeFactory(func() *Config { return &Config{BatchSize: 100, LogEveryNEvents: 10000} }, New),
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
	drained int64 // only touched by Deliver, which the core calls serially
}

// New builds a null sink.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	return &Sink{cfg: *cfg, name: env.Name, log: env.Logger}, nil
}

// Start does nothing: the null sink holds nothing.
func (s *Sink) Start(context.Context) error { return nil }

// Stop does nothing: the null sink holds nothing to flush.
func (s *Sink) Stop(context.Context) error { return nil }

// Deliver discards the batch.
func (s *Sink) Deliver(_ context.Context, events []*sluice.Event) error {
	before := s.drained
	s.drained += int64(len(events))
	if every := s.cfg.LogEveryNEvents; s.drained/every != before/every {
		s.log.Info(fmt.Sprintf("null sink %s discarded %d events", s.name, s.drained))
	}
	return nil
}

// BatchSize is the most events one transaction takes (sluice.Batcher).
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }
