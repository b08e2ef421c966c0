package agent

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sluiceio/sluice/conf"
)

// The supervisor runs an agent for the life of the process: it starts it,
// watches the configuration files, swaps the running agent for a valid new
// configuration (falling back to the previous one when the new one cannot
// start), and stops it on shutdown. A reload keeps every unchanged
// component running (BuildReload, Agent.TakeOver).

// DefaultPollInterval is Flume's period for checking the configuration
// files (Application.DEFAULT_FILE_INTERVAL, in seconds there).
const DefaultPollInterval = 30 * time.Second

// SupervisorConfig says what a Supervisor reloads and how it reports.
type SupervisorConfig struct {
	// Files are the configuration files whose changes trigger a reload.
	Files []string
	// Interval is how often Files are checked; zero means never.
	Interval time.Duration
	// Read reads Files again into the agent's configuration.
	Read func() (*conf.AgentConfig, error)
	// Strict counts warnings as errors (--strict).
	Strict bool
	Log    *slog.Logger
	// Stderr gets the one message printed when the process must end
	// because nothing could be started.
	Stderr io.Writer
	// Reload, when it delivers, reloads the files at once, changed or not
	// (the command sends SIGHUP here); also when Interval is zero.
	Reload <-chan os.Signal
}

// Supervisor owns the running agent and replaces it when the
// configuration changes.
type Supervisor struct {
	c       SupervisorConfig
	watcher *confWatcher
	mon     *Monitor
	cur     *Agent
	cfg     *conf.AgentConfig // cur's configuration, to restart it if a new one fails
}

// NewSupervisor records the configuration files' current state when
// reloading is on. Call it before reading the files for the first time, so
// that a change made while they are read is seen later.
func NewSupervisor(c SupervisorConfig) *Supervisor {
	s := &Supervisor{c: c}
	if c.Interval > 0 {
		s.watcher = newConfWatcher(c.Files, c.Log)
	}
	return s
}

// SetMonitor makes the supervisor point mon at each agent it swaps in.
func (s *Supervisor) SetMonitor(mon *Monitor) { s.mon = mon }

// BuildReported builds cfg's agent (taking over prev's unchanged
// channels, see BuildNext), passing every problem to report; it returns
// the number of errors (warnings count only when strict).
func BuildReported(cfg *conf.AgentConfig, log *slog.Logger, prev *Agent, strict bool, report func(warning bool, msg string)) (*Agent, int) {
	ag, problems := BuildNext(cfg, log, prev)
	return ag, countReported(problems, strict, report)
}

func countReported(problems []*conf.Error, strict bool, report func(warning bool, msg string)) int {
	nerr := 0
	for _, p := range problems {
		warning := p.Warning && !strict
		if !warning {
			nerr++
		}
		report(warning, p.Error())
	}
	return nerr
}

// Run starts ag (built from cfg), reloads it on every change of the files
// until ctx ends, then stops the agent running at that time. It returns
// the process's exit code.
func (s *Supervisor) Run(ctx context.Context, ag *Agent, cfg *conf.AgentConfig) int {
	if err := startBounded(ctx, ag); err != nil {
		fmt.Fprintf(s.c.Stderr, "sluice: %v\n", err)
		return 1
	}
	s.cur, s.cfg = ag, cfg
	var tick <-chan time.Time
	if s.watcher != nil {
		t := time.NewTicker(s.c.Interval)
		defer t.Stop()
		tick = t.C
		s.c.Log.Debug("watching the configuration for changes", "files", strings.Join(s.c.Files, ","), "interval", s.c.Interval)
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick:
			if !s.watcher.changed() {
				continue
			}
			if code, exit := s.reload(ctx, "configuration changed; reloading"); exit {
				return code
			}
		case sig := <-s.c.Reload:
			if s.watcher != nil {
				s.watcher.changed() // what is read now is not a change for the poll
			}
			if code, exit := s.reload(ctx, "reloading the configuration on "+signalName(sig)); exit {
				return code
			}
		}
	}
	s.c.Log.Info("shutting down")
	if err := stopBounded(s.cur); err != nil {
		s.c.Log.Error("stop", "err", err)
		return 1
	}
	return 0
}

// reload loads the changed configuration and, if it is valid, swaps the
// running agent for it. exit is true when the process must end with code
// (a signal came during the swap, or nothing could be started).
func (s *Supervisor) reload(ctx context.Context, why string) (code int, exit bool) {
	log := s.c.Log
	log.Info(why, "files", strings.Join(s.c.Files, ","))
	cfg, err := s.c.Read()
	if err != nil {
		log.Error("configuration reload failed; the running agent is kept", "err", err)
		return 0, false
	}
	// Every component the change leaves as it was keeps running (the new
	// agent takes over the running instance); only what changed, and what
	// is wired to it, is stopped and built anew.
	next, problems := BuildReload(cfg, log, s.cur)
	nerr := countReported(problems, s.c.Strict, func(warning bool, msg string) {
		if warning {
			log.Warn("configuration problem", "problem", msg)
		} else {
			log.Error("configuration problem", "problem", msg)
		}
	})
	if nerr > 0 {
		log.Error("configuration reload failed; the running agent is kept", "errors", nerr)
		return 0, false
	}
	if ctx.Err() != nil {
		return 0, false // shutting down: Run stops cur
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = next.TakeOver(startCtx, s.cur)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			log.Info("shutting down")
			return 0, true
		}
		log.Error("the new configuration failed to start; starting the previous one again", "err", err)
		old, nerr := BuildReported(s.cfg, log, next, s.c.Strict, func(bool, string) {})
		if nerr > 0 {
			err = fmt.Errorf("%d configuration error(s)", nerr)
		} else {
			err = startBounded(ctx, old)
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, true
			}
			fmt.Fprintf(s.c.Stderr, "sluice: the new configuration failed to start and the previous one could not be restarted: %v\n", err)
			return 1, true
		}
		s.cur = old
		if s.mon != nil {
			s.mon.SetAgent(old)
		}
		log.Warn("running the previous configuration again; fix the files to retry")
		return 0, false
	}
	s.cur, s.cfg = next, cfg
	if s.mon != nil {
		s.mon.SetAgent(next)
	}
	log.Info("reloaded", "agent", next.Name())
	return 0, false
}

// startBounded starts ag with the bound used at startup.
func startBounded(ctx context.Context, ag *Agent) error {
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return ag.Start(startCtx, Options{})
}

// stopBounded stops ag as on SIGTERM: sources first, a bounded drain, then
// the rest.
func stopBounded(ag *Agent) error {
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return ag.Stop(stopCtx)
}

// stamp is what tells a file changed: its modification time and size.
type stamp struct {
	mod  time.Time
	size int64
}

// confWatcher reports when any configuration file changed since the last
// look. A file that cannot be stat'ed (being replaced, briefly deleted) is
// warned about once and holds back every reload until it is back.
type confWatcher struct {
	files   []string
	last    []stamp
	missing []bool
	stat    func(string) (fs.FileInfo, error)
	log     *slog.Logger
}

// newConfWatcher records the files' current stamps. Call it before reading
// the files, so that a change made while they are read is seen later.
func newConfWatcher(files []string, log *slog.Logger) *confWatcher {
	w := &confWatcher{
		files:   files,
		last:    make([]stamp, len(files)),
		missing: make([]bool, len(files)),
		stat:    os.Stat,
		log:     log,
	}
	for i, f := range files {
		if st, err := w.stat(f); err == nil {
			w.last[i] = stamp{st.ModTime(), st.Size()}
		}
	}
	return w
}

// changed looks at every file once and reports whether any differs from
// the last look; the new stamps are kept only when every file was there.
func (w *confWatcher) changed() bool {
	now := make([]stamp, len(w.files))
	gone := false
	for i, f := range w.files {
		st, err := w.stat(f)
		if err != nil {
			if !w.missing[i] {
				w.log.Warn("configuration file unreadable; no reload until it is back", "file", f, "err", err)
				w.missing[i] = true
			}
			gone = true
			continue
		}
		if w.missing[i] {
			w.log.Info("configuration file is back", "file", f)
			w.missing[i] = false
		}
		now[i] = stamp{st.ModTime(), st.Size()}
	}
	if gone {
		return false
	}
	diff := false
	for i := range now {
		if !now[i].mod.Equal(w.last[i].mod) || now[i].size != w.last[i].size {
			diff = true
		}
	}
	w.last = now
	return diff
}

func signalName(sig os.Signal) string {
	if sig == nil {
		return "request"
	}
	if sig == syscall.SIGHUP {
		return "SIGHUP"
	}
	return sig.String()
}
