// Command filesink is the plugins package's test plugin: a sink appending
// bodies to a file, whose bodies steer it: "reject" is rejected for good,
// "permanent" fails the batch for good, "crash" kills the process before
// anything of the batch is written ("crashonce": the first time only), "hang" blocks.
package main

import (
	"context"
	"errors"
	"os"

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

func main() {
	sdk.Serve(sluice.Spec{Kind: sluice.KindSink, Name: "test_file",
		Factory: sluice.MakeFactory(func() *config { return &config{BatchSize: 3} },
			func(env sluice.Env, c *config) (*sink, error) { return &sink{cfg: *c}, nil })})
}
