// Package ticker is the example source of docs/writing-a-component.md: it
// hands the channels one numbered event every interval.
package ticker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// Config holds the source's properties.
type Config struct {
	Interval time.Duration `flume:"interval" unit:"ms" doc:"time between events"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindSource, Name: "example_ticker", Stability: sluice.Experimental,
		Doc:     "Emits one event every interval, its body a counter.",
		Example: "a1.sources.r1.type = example_ticker\na1.sources.r1.channels = c1\na1.sources.r1.interval = 1000\n",
		Factory: sluice.MakeFactory(func() *Config { return &Config{Interval: time.Second} }, New),
	})
}

// Source is the running source.
type Source struct {
	cfg  Config
	proc sluice.ChannelProcessor
	stop chan struct{}
	wg   sync.WaitGroup
}

// New keeps what the source needs; the goroutine starts in Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{cfg: *cfg, proc: env.Processor}, nil
}

// Start runs the source on its own goroutine and returns at once.
func (s *Source) Start(context.Context) error {
	s.stop = make(chan struct{})
	s.wg.Add(1)
	go s.run(s.stop)
	return nil
}

// Stop ends intake, then waits for the event in flight (within ctx).
func (s *Source) Stop(ctx context.Context) error {
	if s.stop == nil {
		return nil // never started, or stopped already
	}
	close(s.stop)
	s.stop = nil
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) run(stop <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		batch := []*sluice.Event{{Body: []byte(strconv.Itoa(n))}}
		// The core runs the interceptors, puts the batch into every
		// channel, counts it, and retries with backoff while they are
		// full, until stop closes.
		if err := s.proc.ProcessRetry(context.Background(), batch, sluice.CallEvents, sluice.Retry{Stop: stop}); err != nil {
			return
		}
	}
}
