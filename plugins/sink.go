package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluiceio/sluice"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/plugins/wire"
)

// Sink is a sink whose Deliver runs in a plugin process. The core's sink
// loop gives it the usual transaction: the batch is committed only once
// the plugin acknowledged it; a crash, a hang (plugin.callTimeout) or a
// broken connection is a retryable error, so the batch rolls back and is
// delivered again to the restarted plugin.
type Sink struct {
	h     *host
	batch int
	buf   []byte // the framed batch; Deliver runs on one goroutine at a time
}

func newSink(env sluice.Env, cfg *Config) (*Sink, error) {
	return &Sink{h: newHost(cfg, env.Agent, env.Name, env.Logger), batch: cfg.batchSize}, nil
}

// BatchSize is what the plugin said at Configure.
func (s *Sink) BatchSize() int {
	if s.batch > 0 {
		return s.batch
	}
	return sluice.DefaultBatchSize
}

// Start starts the plugin process; it fails when the plugin cannot start.
func (s *Sink) Start(ctx context.Context) error { return s.h.start(ctx) }

// Stop stops the plugin's sink and reaps the process.
func (s *Sink) Stop(ctx context.Context) error { return s.h.stop(ctx) }

// Deliver sends the batch to the plugin and returns its verdict.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	p, err := s.h.get(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.h.cfg.CallTimeout)
	defer cancel()
	req := &pluginv1.DeliverRequest{}
	if p.batched {
		// gRPC has copied the request by the time Deliver returns, so the
		// buffer is reused for the next batch.
		s.buf = wire.AppendBatch(s.buf[:0], events)
		req.Batch = s.buf
	} else {
		req.Events = wire.ToWire(events)
	}
	resp, err := p.sink.Deliver(cctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The plugin's side may see the deadline (sent with the call) a
		// moment before ours does.
		if cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
			err = fmt.Errorf("no answer within plugin.callTimeout (%s)", s.h.cfg.CallTimeout)
		}
		s.h.fail(p, err)
		return fmt.Errorf("plugin %s: deliver %d events: %w (the batch goes back to the channel; the plugin is restarted)", s.h.t.m.Name, len(events), err)
	}
	s.h.ok()
	return verdictErr(s.h.t.m.Name, resp, len(events))
}

// verdictErr turns the plugin's reply into what the core expects of
// Deliver. Indexes out of range are ignored: they cannot name an event.
func verdictErr(name string, r *pluginv1.DeliverResponse, n int) error {
	if r.Error == "" && len(r.Retry) == 0 && len(r.Rejected) == 0 {
		return nil
	}
	cause := fmt.Errorf("plugin %s: %s", name, r.Error)
	if len(r.Retry) > 0 || len(r.Rejected) > 0 {
		de := &sluice.DeliveryError{Cause: cause}
		for _, i := range r.Retry {
			if int(i) >= 0 && int(i) < n {
				de.Retry = append(de.Retry, int(i))
			}
		}
		for _, rj := range r.Rejected {
			if int(rj.Index) >= 0 && int(rj.Index) < n {
				de.Rejected = append(de.Rejected, sluice.Rejection{Index: int(rj.Index), Reason: errors.New(rj.Reason)})
			}
		}
		return de
	}
	if r.Permanent {
		return sluice.Permanent(cause)
	}
	return cause
}

// Interceptor is an interceptor running in a plugin process. An
// interceptor cannot fail a batch, so while the plugin is down (crashed,
// hung, restarting) batches pass through unchanged, with a warning once
// per outage.
type Interceptor struct {
	h    *host
	log  *slog.Logger
	mu   sync.Mutex
	down bool
}

func newInterceptor(env sluice.Env, cfg *Config) (*Interceptor, error) {
	return &Interceptor{h: newHost(cfg, env.Agent, env.Name, env.Logger), log: env.Logger}, nil
}

// Start starts the plugin process.
func (i *Interceptor) Start(ctx context.Context) error { return i.h.start(ctx) }

// Stop stops it and reaps the process.
func (i *Interceptor) Stop(ctx context.Context) error { return i.h.stop(ctx) }

// Intercept sends the batch to the plugin and returns what it returned.
func (i *Interceptor) Intercept(events []*sluice.Event) []*sluice.Event {
	ctx, cancel := context.WithTimeout(context.Background(), i.h.cfg.CallTimeout+time.Second)
	defer cancel()
	p, err := i.h.get(ctx)
	if err == nil {
		var out []*sluice.Event
		if out, err = i.call(ctx, p, events); err == nil {
			i.setDown(false, nil)
			i.h.ok()
			return out
		}
		i.h.fail(p, err)
	}
	i.setDown(true, err)
	return events
}

// bufs are framed-batch buffers: sources may call Intercept from several
// goroutines at once.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// call runs one Intercept call; a reply that cannot be decoded is the
// plugin's failure, like a broken connection.
func (i *Interceptor) call(ctx context.Context, p *proc, events []*sluice.Event) ([]*sluice.Event, error) {
	cctx, cancel := context.WithTimeout(ctx, i.h.cfg.CallTimeout)
	defer cancel()
	req := &pluginv1.InterceptRequest{}
	if p.batched {
		buf := bufs.Get().(*[]byte)
		defer bufs.Put(buf)
		*buf = wire.AppendBatch((*buf)[:0], events)
		req.Batch = *buf
	} else {
		req.Events = wire.ToWire(events)
	}
	resp, err := p.ic.Intercept(cctx, req)
	if err != nil {
		return nil, err
	}
	if !p.batched {
		return wire.FromWire(resp.Events), nil
	}
	out, err := wire.DecodeBatch(resp.Batch, true)
	if err != nil {
		return nil, fmt.Errorf("intercept reply: %w", err)
	}
	return out, nil
}

func (i *Interceptor) setDown(down bool, err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if down && !i.down {
		i.log.Warn("plugin interceptor unavailable: batches pass through unchanged until it is back", "plugin", i.h.t.m.Name, "err", err)
	} else if !down && i.down {
		i.log.Info("plugin interceptor back", "plugin", i.h.t.m.Name)
	}
	i.down = down
}
