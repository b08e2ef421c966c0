// Package redissink is the sink of the example plugin examples/plugins/redis:
// it writes events to Redis (a single server or a Cluster) with RPUSH or
// XADD, one pipeline per batch. A separate package so that a benchmark can
// run it in process.
package redissink

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the sink's properties, decoded and validated in the plugin.
type Config struct {
	Addr      []string      `flume:"addr" sep:"," required:"true" doc:"host:port of the server, or a comma-separated list of Cluster nodes"`
	Key       string        `flume:"key" required:"true" doc:"the list or stream; %{header} is replaced by the event's header"`
	Command   string        `flume:"command" doc:"rpush (a list of bodies) or xadd (a stream, fields body and the headers)"`
	BatchSize int           `flume:"batchSize" doc:"events per transaction and pipeline"`
	Password  string        `flume:"password" doc:"AUTH password (never logged)"`
	Timeout   time.Duration `flume:"timeout" unit:"ms" doc:"read and write timeout of a call"`
}

func defaults() *Config {
	return &Config{Command: "rpush", BatchSize: 100, Timeout: 10 * time.Second}
}

// Validate checks what can be checked without a server.
func (c *Config) Validate() error {
	var errs []error
	if c.Command != "rpush" && c.Command != "xadd" {
		errs = append(errs, conf.Invalid("command", "%q is not rpush or xadd", c.Command))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", fmt.Sprint(c.BatchSize)))
	}
	for _, a := range c.Addr {
		if !strings.Contains(a, ":") {
			errs = append(errs, conf.Invalid("addr", "%q is not host:port", a))
		}
	}
	if strings.TrimSpace(c.Key) == "" {
		errs = append(errs, conf.Invalid("key", "must not be empty"))
	}
	return errors.Join(errs...)
}

// Sink is the running sink.
type Sink struct {
	cfg    Config
	env    sluice.Env
	client redis.UniversalClient
}

// New keeps the config; Start connects.
func New(env sluice.Env, cfg *Config) (*Sink, error) { return &Sink{cfg: *cfg, env: env}, nil }

// BatchSize tells the agent how many events to take per transaction.
func (s *Sink) BatchSize() int { return s.cfg.BatchSize }

// Start makes the client; it connects on the first batch, so a server
// that is away does not keep the agent from starting.
func (s *Sink) Start(context.Context) error {
	opts := &redis.UniversalOptions{Addrs: s.cfg.Addr, Password: s.cfg.Password,
		ReadTimeout: s.cfg.Timeout, WriteTimeout: s.cfg.Timeout, MaxRetries: -1}
	if len(s.cfg.Addr) > 1 {
		s.client = redis.NewClusterClient(opts.Cluster())
	} else {
		s.client = redis.NewClient(opts.Simple())
	}
	s.env.Logger.Info("redis sink started", "addr", strings.Join(s.cfg.Addr, ","), "key", s.cfg.Key, "command", s.cfg.Command)
	return nil
}

// Stop closes the connections.
func (s *Sink) Stop(context.Context) error {
	if s.client == nil {
		return nil
	}
	return s.client.Close()
}

var headerRef = regexp.MustCompile(`%\{([^}]*)\}`)

func (s *Sink) key(e *sluice.Event) string {
	if !strings.Contains(s.cfg.Key, "%{") {
		return s.cfg.Key
	}
	return headerRef.ReplaceAllStringFunc(s.cfg.Key, func(m string) string {
		return e.Headers[m[2:len(m)-1]]
	})
}

// Deliver writes the batch in one pipeline: one RPUSH per key with its
// events in order, or one XADD per event. Events whose command failed are
// retried (WRONGTYPE: rejected for good); the rest are acknowledged.
func (s *Sink) Deliver(ctx context.Context, events []*sluice.Event) error {
	pipe := s.client.Pipeline()
	var cmds []redis.Cmder
	var owners [][]int // event indexes of each command
	if s.cfg.Command == "rpush" {
		byKey := map[string]int{}
		var vals [][]any
		var keys []string
		for i, e := range events {
			k := s.key(e)
			j, ok := byKey[k]
			if !ok {
				j = len(keys)
				byKey[k] = j
				keys = append(keys, k)
				vals = append(vals, nil)
				owners = append(owners, nil)
			}
			vals[j] = append(vals[j], e.Body)
			owners[j] = append(owners[j], i)
		}
		for j, k := range keys {
			cmds = append(cmds, pipe.RPush(ctx, k, vals[j]...))
		}
	} else {
		for i, e := range events {
			fields := make([]any, 0, 2+2*len(e.Headers))
			fields = append(fields, "body", e.Body)
			for k, v := range e.Headers {
				fields = append(fields, "header."+k, v)
			}
			cmds = append(cmds, pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.key(e), Values: fields}))
			owners = append(owners, []int{i})
		}
	}
	_, _ = pipe.Exec(ctx)
	de := &sluice.DeliveryError{}
	for j, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		if strings.HasPrefix(err.Error(), "WRONGTYPE") {
			for _, i := range owners[j] {
				de.Rejected = append(de.Rejected, sluice.Rejection{Index: i, Reason: err})
			}
			continue
		}
		de.Retry = append(de.Retry, owners[j]...)
		if de.Cause == nil {
			de.Cause = fmt.Errorf("redis %s: %w", c.Name(), err)
		}
	}
	if len(de.Retry) == 0 && len(de.Rejected) == 0 {
		return nil
	}
	return de
}

// Spec is the sink's type.
func Spec() sluice.Spec {
	return sluice.Spec{
		Kind: sluice.KindSink, Name: "redis", Stability: sluice.Experimental,
		Doc:     "Writes events to Redis (a server or a Cluster) with RPUSH or XADD.",
		Factory: sluice.MakeFactory(defaults, New),
	}
}
