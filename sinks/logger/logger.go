// Package logger is the logger sink: it logs every event at INFO, with its
// headers and a hex dump of the start of its body, in Flume's LoggerSink
// format. It is meant for debugging and tests, not for volume.
package logger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sinks/serializer"
)

// Config is the logger sink's configuration.
type Config struct {
	MaxBytesToLog int `flume:"maxBytesToLog" doc:"number of body bytes shown in the hex dump"`
	BatchSize     int `flume:"batchSize" doc:"maximum number of events taken in one transaction (Sluice extension)"`
}

// Validate checks ranges.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxBytesToLog < 0 {
		errs = append(errs, conf.Invalid("maxBytesToLog", "%q must not be negative", fmt.Sprint(c.MaxBytesToLog)))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	return errors.Join(errs...)
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "logger",
		Aliases:   []string{"org.apache.flume.sink.LoggerSink"},
		Stability: sluice.Stable,
		Doc: "Logs each event at INFO as `Event: { headers:{k=v} body: <hex dump> }`, showing at most " +
			"maxBytesToLog bytes of the body. For debugging; logging every event is slow.",
		Notes: "The log line is byte-for-byte Flume's, headers in Java HashMap order included. " +
			"Flume takes one event per transaction and has no `batchSize`; Sluice accepts `batchSize` " +
			"(default 1, Flume's behaviour) to log several events per transaction. " +
			"Flume falls back to 16 when `maxBytesToLog` is not a number; Sluice rejects the value, " +
			"and also a negative one (0 logs no body bytes).",
		Factory: sluice.MakeFactory(func() *Config { return &Config{MaxBytesToLog: 16, BatchSize: 1} }, New),
		Example: "a1.sinks = k1\n" +
			"a1.sinks.k1.type = logger\n" +
			"a1.sinks.k1.channel = c1\n" +
			"a1.sinks.k1.maxBytesToLog = 64\n",
	})
}

// Sink is the logger sink.
type Sink struct {
	cfg Config
	log *slog.Logger
	hf  serializer.HeaderFormatter
	buf []byte
}

// New builds a logger sink logging to env.Logger.
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	return &Sink{cfg: *cfg, log: env.Logger}, nil
}

// Start does nothing: the logger sink holds nothing.
func (s *Sink) Start(context.Context) error { return nil }

// Stop does nothing: the sink holds nothing to flush.
func (s *Sink) Stop(context.Context) error { return nil }

// Deliver logs every event of the batch.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	// Like Flume, skip the formatting when INFO is off.
	if !s.log.Enabled(ctx, slog.LevelInfo) {
		return nil
	}
	for _, e := range events {
		b := append(s.buf[:0], "Event: "...)
		b = appendEvent(b, &s.hf, e.Headers, e.Body, s.cfg.MaxBytesToLog)
		s.log.LogAttrs(ctx, slog.LevelInfo, string(b))
		s.buf = b
	}
	return nil
}

// BatchSize is the most events one transaction takes (sluice.Batcher).
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }
