// Package stress is Flume's StressSource: it generates fixed-size events as
// fast as the channels take them (or at a set rate), for load tests and
// benchmarks.
package stress

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config holds the stress source's properties.
type Config struct {
	Size                int   `flume:"size" doc:"body size of each event, in bytes"`
	BatchSize           int   `flume:"batchSize" doc:"events handed to the channels per transaction"`
	MaxTotalEvents      int64 `flume:"maxTotalEvents" doc:"stop after this many events were accepted; -1 means never"`
	MaxSuccessfulEvents int64 `flume:"maxSuccessfulEvents" doc:"same as maxTotalEvents (Flume distinguishes failed attempts; Sluice retries them); -1 means never"`
	MaxEventsPerSecond  int   `flume:"maxEventsPerSecond" doc:"rate limit; 0 means as fast as possible"`
}

// Validate checks ranges.
func (c *Config) Validate() error {
	var errs []error
	if c.Size < 0 {
		errs = append(errs, conf.Invalid("size", "%d must not be negative", c.Size))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%d must be at least 1", c.BatchSize))
	}
	if c.MaxEventsPerSecond < 0 {
		errs = append(errs, conf.Invalid("maxEventsPerSecond", "%d must not be negative", c.MaxEventsPerSecond))
	}
	return errors.Join(errs...)
}

func defaults() *Config {
	return &Config{Size: 500, BatchSize: 1, MaxTotalEvents: -1, MaxSuccessfulEvents: -1}
}

// New builds the source; the agent's runner drives it after Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{env: env, cfg: *cfg}, nil
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "stress",
		Aliases:   []string{"org.apache.flume.source.StressSource"},
		Stability: sluice.Stable,
		Doc:       "Generates events with a fixed body of `size` bytes (every byte 0x7F, as Flume's) in batches, for load tests.",
		Notes: "- Flume has no short alias for this source; Sluice adds `stress`.\n" +
			"- A batch the channels refuse is retried, never counted as sent: `maxTotalEvents` counts accepted events. " +
			"Flume counts refused batches as sent, so it can stop short of its total.\n" +
			"- Events of one batch share one read-only body buffer, so generation costs no copying.",
		Example: "a1.sources.r1.type = org.apache.flume.source.StressSource\na1.sources.r1.size = 100\n" +
			"a1.sources.r1.batchSize = 1000\na1.sources.r1.maxTotalEvents = 1000000\na1.sources.r1.channels = c1",
		Factory: sluice.MakeFactory(defaults, New),
	})
}

// Source generates events; the agent's pollable runner drives Process.
type Source struct {
	env     sluice.Env
	cfg     Config
	body    []byte
	batch   []*sluice.Event
	sent    int64
	started atomic.Bool
	next    time.Time // rate limiting: when the next batch may go
}

// Start prepares the body buffer.
func (s *Source) Start(context.Context) error {
	s.body = bytes.Repeat([]byte{0x7F}, s.cfg.Size)
	s.batch = make([]*sluice.Event, 0, s.cfg.BatchSize)
	s.started.Store(true)
	return nil
}

// Stop is idempotent; the runner stops calling Process first.
func (s *Source) Stop(context.Context) error {
	s.started.Store(false)
	return nil
}

func (s *Source) limit() int64 {
	l := int64(-1)
	for _, m := range []int64{s.cfg.MaxTotalEvents, s.cfg.MaxSuccessfulEvents} {
		if m >= 0 && (l < 0 || m < l) {
			l = m
		}
	}
	return l
}

// Process hands one batch to the channels. Backoff when done or refused.
func (s *Source) Process(ctx context.Context) (sluice.Status, error) {
	if !s.started.Load() {
		return sluice.Backoff, nil
	}
	n := int64(s.cfg.BatchSize)
	if l := s.limit(); l >= 0 {
		if s.sent >= l {
			return sluice.Backoff, nil
		}
		n = min(n, l-s.sent)
	}
	if r := s.cfg.MaxEventsPerSecond; r > 0 {
		now := time.Now()
		if wait := s.next.Sub(now); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return sluice.Backoff, nil
			case <-t.C:
			}
			now = s.next
		}
		s.next = now.Add(time.Duration(n) * time.Second / time.Duration(r))
	}
	// Fresh event structs each batch: interceptors may set headers on them.
	s.batch = s.batch[:0]
	events := make([]sluice.Event, n)
	for i := range events {
		events[i].Body = s.body
		s.batch = append(s.batch, &events[i])
	}
	if err := s.env.Processor.Process(ctx, s.batch, sluice.CallEvents); err != nil {
		return sluice.Backoff, nil
	}
	s.sent += n
	return sluice.Ready, nil
}

// BatchSize reports the batch size for the agent's checks.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }
