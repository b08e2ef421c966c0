// Package seq is the sequence generator source: events whose bodies are
// the decimal numbers 0, 1, 2, ... — for testing pipelines.
package seq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the seq source's configuration.
type Config struct {
	BatchSize   int   `flume:"batchSize" doc:"events per batch handed to the channels"`
	TotalEvents int64 `flume:"totalEvents" doc:"how many events to generate before stopping"`
}

// Validate checks ranges.
func (c *Config) Validate() error {
	var errs []error
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "\"%d\" must be at least 1", c.BatchSize))
	}
	if c.TotalEvents < 0 {
		errs = append(errs, conf.Invalid("totalEvents", "\"%d\" must not be negative", c.TotalEvents))
	}
	return errors.Join(errs...)
}

func defaults() *Config {
	return &Config{BatchSize: 1, TotalEvents: math.MaxInt64}
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "seq",
		Aliases:   []string{"org.apache.flume.source.SequenceGeneratorSource"},
		Stability: sluice.Stable,
		Doc: "Generates events whose bodies are the decimal numbers 0, 1, 2, ... up to " +
			"`totalEvents`, in batches of `batchSize`. Useful to test a pipeline.",
		Notes: strings.TrimSpace(`
- When the channels refuse a batch, the same numbers are offered again after a growing pause
  (100 ms up to 5 s), so no number is skipped, as in Flume (which retries at once).
- After ` + "`totalEvents`" + ` events the source stops producing and says so in the log.
- A negative ` + "`totalEvents`" + ` is a configuration error (Flume silently generates nothing).
- With ` + "`batchSize`" + ` above 1, ` + "`AppendBatchReceivedCount`" + ` and
  ` + "`AppendBatchAcceptedCount`" + ` count batches (Flume counts only the accepted ones).`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = seq\n" +
			"a1.sources.r1.batchSize = 100\n" +
			"a1.sources.r1.totalEvents = 1000000\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}

// Backoff bounds after a refused batch.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Source is a running seq source.
type Source struct {
	cfg      Config
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	running   bool
	stop      chan struct{} // closed by Stop: produce no more batches
	done      chan struct{} // closed when the generator goroutine ends
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// New builds the source; nothing runs until Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{cfg: *cfg, log: env.Logger, proc: env.Processor, counters: env.SourceCounters}, nil
}

// BatchSize is the configured batch size.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start begins generating on its own goroutine, from 0.
func (s *Source) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("seq source already started")
	}
	s.running = true
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	go s.generate()
	return nil
}

func (s *Source) generate() {
	defer close(s.done)
	total, size := s.cfg.TotalEvents, int64(s.cfg.BatchSize)
	counted := size > 1
	var batch []*sluice.Event
	for next := int64(0); next < total; {
		select {
		case <-s.stop:
			return
		default:
		}
		n := min(size, total-next)
		batch = build(batch, next, n)
		call := sluice.CallEvents
		if counted {
			call = sluice.CallAppendBatch
		}
		// The interceptors run once; a refused batch is retried as they
		// left it, with the same numbers.
		if err := s.proc.ProcessRetry(s.runCtx, batch, call, sluice.Retry{First: minBackoff, Max: maxBackoff, Stop: s.stop}); err != nil {
			return
		}
		next += n
	}
	s.log.Info("seq source generated all its events and stops producing", "totalEvents", total)
}

// build makes events first .. first+n-1 in one allocation for the bodies
// and one for the events, reusing the slice of pointers.
func build(batch []*sluice.Event, first, n int64) []*sluice.Event {
	batch = batch[:0]
	events := make([]sluice.Event, n)
	slab := make([]byte, 0, n*int64(len(strconv.FormatInt(first+n-1, 10))))
	for i := range n {
		off := len(slab)
		slab = strconv.AppendInt(slab, first+i, 10)
		events[i] = sluice.Event{Body: slab[off:len(slab):len(slab)]} // no headers: interceptors allocate the map if they add one
		batch = append(batch, &events[i])
	}
	return batch
}

// Stop ends generation. A batch already offered to the channels may finish
// within ctx's deadline; after it, the attempt is cancelled.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	s.running = false
	close(s.stop)
	s.mu.Unlock()

	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancelRun()
		<-s.done
		err = fmt.Errorf("seq source: batch still in flight at the stop deadline was cancelled: %w", ctx.Err())
	}
	s.cancelRun()
	return err
}
