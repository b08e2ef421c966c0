package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sluiceio/sluice/agent"
	"github.com/sluiceio/sluice/conf"
)

// defaultPollInterval is Flume's for configuration files
// (Application.DEFAULT_FILE_INTERVAL, in seconds there).
const defaultPollInterval = 30 * time.Second

// pollIntervalProperty is a Sluice-only -D property taking a Go duration
// ("200ms"), finer than Flume's whole seconds; tests use it.
const pollIntervalProperty = "sluice.conf.pollInterval"

// pollInterval is how often the configuration files are checked; zero means
// never (--no-reload-conf).
func pollInterval(a *agentArgs) (time.Duration, error) {
	if a.noReload {
		return 0, nil
	}
	if v, ok := a.system[pollIntervalProperty]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("-D%s: %q is not a positive duration (e.g. 500ms, 10s)", pollIntervalProperty, v)
		}
		return d, nil
	}
	if a.pollSeconds > 0 {
		return time.Duration(a.pollSeconds) * time.Second, nil
	}
	return defaultPollInterval, nil // Flume: 0 or absent means the default
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

// reloader owns the running agent and replaces it when the configuration
// changes.
type reloader struct {
	a      *agentArgs
	log    *slog.Logger
	stderr io.Writer
	mon    *agent.Monitor
	cur    *agent.Agent
	cfg    *conf.AgentConfig // cur's configuration, to restart it if a new one fails
}

// reload loads the changed configuration and, if it is valid, swaps the
// running agent for it. exit is true when the process must end with code
// (a signal came during the swap, or nothing could be started).
func (r *reloader) reload(ctx context.Context) (code int, exit bool) {
	r.log.Info("configuration changed; reloading", "files", strings.Join(r.a.files, ","))
	cfg, err := readConf(r.a)
	if err != nil {
		r.log.Error("configuration reload failed; the running agent is kept", "err", err)
		return 0, false
	}
	// Unchanged in-memory channels are kept with their events (as Flume
	// does): the new agent takes over the running instances.
	next, nerr := buildAgent(r.a, cfg, r.log, r.cur, func(warning bool, msg string) {
		if warning {
			r.log.Warn("configuration problem", "problem", msg)
		} else {
			r.log.Error("configuration problem", "problem", msg)
		}
	})
	if nerr > 0 {
		r.log.Error("configuration reload failed; the running agent is kept", "errors", nerr)
		return 0, false
	}
	if ctx.Err() != nil {
		return 0, false // shutting down: the caller stops cur
	}
	stopErr := stopAgent(r.cur)
	if stopErr != nil {
		r.log.Error("stop", "err", stopErr)
	}
	if ctx.Err() != nil {
		r.log.Info("shutting down")
		if stopErr != nil {
			return 1, true // as a plain shutdown whose stop failed
		}
		return 0, true
	}
	if err := startAgent(ctx, next); err != nil {
		if ctx.Err() != nil {
			r.log.Info("shutting down")
			return 0, true
		}
		r.log.Error("the new configuration failed to start; starting the previous one again", "err", err)
		old, nerr := buildAgent(r.a, r.cfg, r.log, next, func(bool, string) {})
		if nerr > 0 {
			err = fmt.Errorf("%d configuration error(s)", nerr)
		} else {
			err = startAgent(ctx, old)
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, true
			}
			fmt.Fprintf(r.stderr, "sluice: the new configuration failed to start and the previous one could not be restarted: %v\n", err)
			return 1, true
		}
		r.cur = old
		if r.mon != nil {
			r.mon.SetAgent(old)
		}
		r.log.Warn("running the previous configuration again; fix the files to retry")
		return 0, false
	}
	r.cur, r.cfg = next, cfg
	if r.mon != nil {
		r.mon.SetAgent(next)
	}
	r.log.Info("reloaded", "agent", next.Name())
	return 0, false
}

// startAgent starts ag with the bound used at startup.
func startAgent(ctx context.Context, ag *agent.Agent) error {
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return ag.Start(startCtx, agent.Options{})
}

// stopAgent stops ag as on SIGTERM: sources first, a bounded drain, then
// the rest.
func stopAgent(ag *agent.Agent) error {
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return ag.Stop(stopCtx)
}
