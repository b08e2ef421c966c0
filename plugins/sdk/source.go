package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/plugins/wire"
)

// bridge is a plugin source's Env.Processor: Process hands the batch to
// the agent's next Next call and returns the agent's Ack, so a source
// written against the usual ChannelProcessor contract learns that its
// batch was committed (nil) or refused (an error) by the agent's channels.
type bridge struct {
	queue    chan *pending
	mu       sync.Mutex
	inFlight map[uint64]*pending
	seq      uint64
	stopped  chan struct{}
	stopOnce sync.Once
}

type pending struct {
	events []*sluice.Event
	done   chan error
}

func newBridge() *bridge {
	return &bridge{queue: make(chan *pending), inFlight: map[uint64]*pending{}, stopped: make(chan struct{})}
}

var errStopped = errors.New("the agent stopped the source")

// Process makes one attempt. Interceptors run in the agent.
func (b *bridge) Process(ctx context.Context, events []*sluice.Event, _ sluice.Call) error {
	p := &pending{events: events, done: make(chan error, 1)}
	select {
	case b.queue <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		return errStopped
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		return errStopped
	}
}

// ProcessRetry retries with backoff until the agent committed the batch.
func (b *bridge) ProcessRetry(ctx context.Context, events []*sluice.Event, call sluice.Call, r sluice.Retry) error {
	wait, max := r.First, r.Max
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	for {
		err := b.Process(ctx, events, call)
		if err == nil || errors.Is(err, errStopped) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		case <-r.Stop:
			return err
		case <-b.stopped:
			return errStopped
		}
		if wait *= 2; wait > max {
			wait = max
		}
	}
}

func (b *bridge) next(ctx context.Context, req *pluginv1.NextRequest) *pluginv1.NextResponse {
	wait := time.Duration(req.WaitMs) * time.Millisecond
	if wait <= 0 {
		wait = time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p := <-b.queue:
		b.mu.Lock()
		b.seq++
		id := b.seq
		b.inFlight[id] = p
		b.mu.Unlock()
		return &pluginv1.NextResponse{Batch: id, Events: wire.ToWire(p.events)}
	case <-t.C:
	case <-ctx.Done():
	case <-b.stopped:
	}
	return &pluginv1.NextResponse{}
}

func (b *bridge) ack(req *pluginv1.AckRequest) error {
	b.mu.Lock()
	p, ok := b.inFlight[req.Batch]
	delete(b.inFlight, req.Batch)
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("no batch %d in flight", req.Batch)
	}
	if req.Error != "" {
		p.done <- errors.New(req.Error)
	} else {
		p.done <- nil
	}
	return nil
}

func (b *bridge) stop() { b.stopOnce.Do(func() { close(b.stopped) }) }

type sourceServer struct {
	pluginv1.UnimplementedSourceServer
	c component
	b *bridge
}

func (s *sourceServer) Configure(_ context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return s.c.configure(sluice.KindSource, req, func(env *sluice.Env) {
		env.Processor = s.b
		env.SourceCounters = &sluice.SourceCounters{}
	})
}

func (s *sourceServer) Start(ctx context.Context, _ *pluginv1.StartRequest) (*pluginv1.StartResponse, error) {
	// The source's goroutines outlive this call: give it a context that
	// ends only when the source stops.
	return &pluginv1.StartResponse{}, s.c.start(context.WithoutCancel(ctx))
}

func (s *sourceServer) Next(ctx context.Context, req *pluginv1.NextRequest) (*pluginv1.NextResponse, error) {
	return s.b.next(ctx, req), nil
}

func (s *sourceServer) Ack(_ context.Context, req *pluginv1.AckRequest) (*pluginv1.AckResponse, error) {
	return &pluginv1.AckResponse{}, s.b.ack(req)
}

func (s *sourceServer) Stop(ctx context.Context, _ *pluginv1.StopRequest) (*pluginv1.StopResponse, error) {
	s.b.stop()
	return &pluginv1.StopResponse{}, s.c.stop(ctx)
}
