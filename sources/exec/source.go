package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// Retry pauses for a refused batch, and how long a stopped command gets
// between SIGTERM and SIGKILL.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	killGrace  = 5 * time.Second
)

// Source is a running exec source.
type Source struct {
	cfg      Config
	argv     []string
	log      *slog.Logger
	proc     sluice.ChannelProcessor
	counters *sluice.SourceCounters

	mu        sync.Mutex
	running   bool
	cur       *child        // the command now running, if any
	stop      chan struct{} // closed by Stop: no restarts, no waiting
	done      chan struct{} // closed when the runner goroutine ends
	runCtx    context.Context
	cancelRun context.CancelFunc
}

// New builds the source; nothing is started until Start.
func New(env sluice.Env, cfg *Config) (*Source, error) {
	return &Source{cfg: *cfg, argv: cfg.argv(), log: env.Logger.With("command", cfg.Command),
		proc: env.Processor, counters: env.SourceCounters}, nil
}

// BatchSize is the configured batch size.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start runs the command. It fails when the command cannot be started at
// all, so a wrong path shows at startup rather than in a restart loop.
func (s *Source) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("exec source already started")
	}
	c, err := spawn(s.argv, s.cfg.LogStdErr, s.log)
	if err != nil {
		return fmt.Errorf("exec source: cannot start command %q: %w", s.cfg.Command, err)
	}
	s.log.Info("exec source started the command", "pid", c.pid)
	s.running, s.cur = true, c
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	go s.run(c)
	return nil
}

func (s *Source) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// run reads each run of the command to its end and restarts it when asked.
func (s *Source) run(c *child) {
	defer close(s.done)
	for {
		if c != nil {
			s.consume(c)
			s.reportExit(c)
			s.mu.Lock()
			s.cur = nil // nothing left to signal
			s.mu.Unlock()
		}
		if !s.cfg.Restart || s.stopping() {
			return
		}
		select {
		case <-s.stop:
			return
		case <-time.After(s.cfg.RestartThrottle):
		}
		s.mu.Lock()
		if s.stopping() {
			s.mu.Unlock()
			return
		}
		var err error
		c, err = spawn(s.argv, s.cfg.LogStdErr, s.log)
		s.cur = c
		s.mu.Unlock()
		if err != nil {
			s.counters.GenericProcessingFail.Add(1)
			s.log.Error("exec source: cannot restart the command; trying again later",
				"err", err, "retry_in", s.cfg.RestartThrottle)
			continue
		}
		s.log.Info("exec source restarted the command", "pid", c.pid)
	}
}

// reportExit waits for the command (its output has ended) and logs how it
// ended, with its last stderr lines when it failed.
func (s *Source) reportExit(c *child) {
	<-c.exited
	select {
	case <-c.stderrDone:
	case <-time.After(time.Second): // a grandchild may hold stderr open
	}
	status, ok := c.status()
	attrs := []any{"pid", c.pid, "status", status}
	if s.cfg.Restart && !s.stopping() {
		attrs = append(attrs, "restart_in", s.cfg.RestartThrottle)
	}
	switch {
	case ok || s.stopping():
		s.log.Info("exec source: command exited", attrs...)
	default:
		if t := c.stderrTail(); t != "" {
			attrs = append(attrs, "stderr", t)
		}
		s.log.Warn("exec source: command exited with a failure", attrs...)
	}
}

// Stop stops the command's process group, then hands the lines already
// read to the channels within ctx's deadline.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	s.running = false
	close(s.stop)
	c := s.cur
	s.mu.Unlock()

	if c != nil {
		terminateGroup(c.pid)
		select {
		case <-c.exited:
		case <-time.After(killGrace):
		case <-ctx.Done():
		}
		// Also ends children that ignored SIGTERM or outlived the command.
		// The group's id cannot be reused while any member is alive.
		killGroup(c.pid)
	}
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancelRun()
		if c != nil {
			c.stdout.Close() // unblocks a read held open by an escaped process
		}
		<-s.done
		err = fmt.Errorf("exec source: stop deadline passed before the command's output ended and its lines were delivered: %w", ctx.Err())
	}
	s.cancelRun()
	return err
}
