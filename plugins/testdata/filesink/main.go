// Command filesink is the plugins package's test plugin. test_counter is a
// source of numbered events that writes, after each batch the agent
// acknowledged, how many it acknowledged to ackFile. test_file is a sink appending
// bodies to a file, whose bodies steer it: "reject" is rejected for good,
// "permanent" fails the batch for good, "crash" kills the process before
// anything of the batch is written ("crashonce": the first time only), "hang" blocks.
package main

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/plugins/sdk"
)

type config struct {
	Path      string `flume:"path" required:"true" doc:"file to append to"`
	BatchSize int    `flume:"batchSize" doc:"events per batch"`
}

func (c *config) Validate() error {
	if c.BatchSize < 1 {
		return conf.Invalid("batchSize", "must be at least 1")
	}
	return nil
}

type sink struct{ cfg config }

func (s *sink) BatchSize() int              { return s.cfg.BatchSize }
func (s *sink) Start(context.Context) error { return nil }
func (s *sink) Stop(context.Context) error  { return nil }

func (s *sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	var out []byte
	de := &sluice.DeliveryError{}
	for i, e := range events {
		switch string(e.Body) {
		case "crash":
			os.Exit(3)
		case "crashonce":
			if _, err := os.Stat(s.cfg.Path + ".crashed"); err != nil {
				_ = os.WriteFile(s.cfg.Path+".crashed", nil, 0o644)
				os.Exit(3)
			}
		case "hang":
			<-ctx.Done()
			select {}
		case "permanent":
			return sluice.Permanent(errors.New("never"))
		case "reject":
			de.Rejected = append(de.Rejected, sluice.Rejection{Index: i, Reason: errors.New("no rejects here")})
			continue
		}
		out = append(append(out, e.Body...), '\n')
	}
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		return err
	}
	if len(de.Rejected) > 0 {
		return de
	}
	return nil
}

type counterConfig struct {
	Total   int    `flume:"total" doc:"events to send"`
	Batch   int    `flume:"batch" doc:"events per batch"`
	AckFile string `flume:"ackFile" required:"true" doc:"where to write the acknowledged count"`
}

type counter struct {
	cfg  counterConfig
	proc sluice.ChannelProcessor
	stop chan struct{}
	done chan struct{}
}

func (c *counter) Start(context.Context) error {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		for n := 0; n < c.cfg.Total; n += c.cfg.Batch {
			var batch []*sluice.Event
			for i := n; i < n+c.cfg.Batch && i < c.cfg.Total; i++ {
				batch = append(batch, sluice.NewEvent([]byte(strconv.Itoa(i))))
			}
			if err := c.proc.ProcessRetry(context.Background(), batch, sluice.CallEvents, sluice.Retry{Stop: c.stop}); err != nil {
				return
			}
			_ = os.WriteFile(c.cfg.AckFile, []byte(strconv.Itoa(n+len(batch))), 0o644)
		}
	}()
	return nil
}

func (c *counter) Stop(context.Context) error {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	return nil
}

func main() {
	sdk.Serve(sluice.Spec{Kind: sluice.KindSource, Name: "test_counter",
		Factory: sluice.MakeFactory(func() *counterConfig { return &counterConfig{Total: 100, Batch: 10} },
			func(env sluice.Env, c *counterConfig) (*counter, error) {
				return &counter{cfg: *c, proc: env.Processor}, nil
			})},
		sluice.Spec{Kind: sluice.KindSink, Name: "test_file",
			Factory: sluice.MakeFactory(func() *config { return &config{BatchSize: 3} },
				func(env sluice.Env, c *config) (*sink, error) { return &sink{cfg: *c}, nil })})
}
