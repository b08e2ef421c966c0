// Package jsonl is the example sink of docs/writing-a-component.md: it
// appends each event to a file as one JSON line and syncs the file before
// the core commits the batch.
package jsonl

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config holds the sink's properties, with their defaults set in defaults.
type Config struct {
	Path      string `flume:"path" required:"true" doc:"file to append JSON lines to"`
	BatchSize int    `flume:"batchSize" doc:"events per transaction"`
}

// Validate runs once, when the agent decodes the file.
func (c *Config) Validate() error {
	if c.BatchSize < 1 {
		return conf.Invalid("batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize))
	}
	return nil
}

func defaults() *Config { return &Config{BatchSize: 100} }

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindSink, Name: "example_jsonl", Stability: sluice.Experimental,
		Doc:     "Appends each event to a file as a JSON line.",
		Example: "a1.sinks.k1.type = example_jsonl\na1.sinks.k1.channel = c1\na1.sinks.k1.path = /tmp/events.jsonl\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}

// Sink is the running sink.
type Sink struct {
	cfg Config
	f   *os.File
	buf []byte
}

// New gets a validated config; it opens nothing (Start does).
func New(env sluice.Env, cfg *Config) (*Sink, error) {
	return &Sink{cfg: *cfg}, nil
}

// BatchSize tells the core how many events to take per transaction.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start opens the file.
func (s *Sink) Start(context.Context) error {
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("example_jsonl: path %q: %w", s.cfg.Path, err)
	}
	s.f = f
	return nil
}

// Stop closes the file; the core calls it once no Deliver runs.
func (s *Sink) Stop(context.Context) error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

type line struct {
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
}

// Deliver writes the batch and syncs it. Returning nil lets the core
// commit; an error rolls the batch back and the core retries it later.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	s.buf = s.buf[:0]
	for _, e := range events {
		b, err := json.Marshal(line{Headers: e.Headers, Body: string(e.Body)})
		if err != nil {
			return sluice.Permanent(err) // retrying cannot help
		}
		s.buf = append(append(s.buf, b...), '\n')
	}
	if _, err := s.f.Write(s.buf); err != nil {
		return fmt.Errorf("example_jsonl: write %s: %w", s.cfg.Path, err)
	}
	return s.f.Sync()
}
