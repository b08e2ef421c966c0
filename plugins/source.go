package plugins

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/plugins/wire"
)

// Source is a source running in a plugin process. It pulls the plugin's
// batches (Next), hands each to the channels through the core (with the
// source's interceptors, retrying while the channels refuse it) and
// acknowledges it to the plugin (Ack) only once they committed it.
type Source struct {
	h    *host
	proc sluice.ChannelProcessor
	stop chan struct{}
	wg   sync.WaitGroup
}

func newSource(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{h: newHost(cfg, env.Agent, env.Name, env.Logger), proc: env.Processor}, nil
}

// Start starts the plugin and the pulling goroutine.
func (s *Source) Start(ctx context.Context) error {
	if err := s.h.start(ctx); err != nil {
		return err
	}
	s.stop = make(chan struct{})
	s.wg.Add(1)
	go s.run(s.stop)
	return nil
}

// Stop ends the pulling (a batch being handed over is given up, not
// acknowledged), then stops the plugin and reaps it.
func (s *Source) Stop(ctx context.Context) error {
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
		s.wg.Wait()
	}
	return s.h.stop(ctx)
}

func (s *Source) run(stop <-chan struct{}) {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	const wait = time.Second
	for ctx.Err() == nil {
		p, err := s.h.get(ctx)
		if err != nil {
			select {
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		cctx, ccancel := context.WithTimeout(ctx, wait+s.h.cfg.CallTimeout)
		resp, err := p.src.Next(cctx, &pluginv1.NextRequest{MaxEvents: 1000, WaitMs: int32(wait / time.Millisecond)})
		ccancel()
		if err != nil {
			if ctx.Err() == nil {
				s.h.fail(p, fmt.Errorf("next batch: %w", err))
			}
			continue
		}
		s.h.ok()
		if len(resp.Events) == 0 {
			continue
		}
		err = s.proc.ProcessRetry(ctx, wire.FromWire(resp.Events), sluice.CallEvents, sluice.Retry{Stop: stop})
		ack := &pluginv1.AckRequest{Batch: resp.Batch}
		if err != nil {
			ack.Error = err.Error()
		}
		actx, acancel := context.WithTimeout(context.Background(), s.h.cfg.CallTimeout)
		if _, aerr := p.src.Ack(actx, ack); aerr != nil && err == nil {
			// Committed, but the plugin did not hear it: it may send the
			// batch again (at least once).
			s.h.fail(p, fmt.Errorf("ack batch %d: %w", resp.Batch, aerr))
		}
		acancel()
	}
}
