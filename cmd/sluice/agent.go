package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/agent"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/gctune"
	"github.com/sluiceio/sluice/plugins"
)

// newLogger honours -Dflume.root.logger=LEVEL,appender: the level is used,
// everything goes to stderr (Flume 1.11 ignores this property altogether).
func newLogger(system map[string]string, stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if v, ok := system["flume.root.logger"]; ok {
		lv, _, _ := strings.Cut(v, ",")
		switch strings.ToUpper(strings.TrimSpace(lv)) {
		case "TRACE", "DEBUG", "ALL":
			level = slog.LevelDebug
		case "WARN":
			level = slog.LevelWarn
		case "ERROR", "FATAL", "OFF":
			level = slog.LevelError
		}
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// load reads and builds the agent, printing every problem. It returns nil
// when any error remains (warnings are printed and allowed unless strict).
func load(a *agentArgs, log *slog.Logger, stderr io.Writer) (*agent.Agent, *conf.AgentConfig, bool) {
	cfg, err := readConf(a)
	if err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return nil, nil, false
	}
	ag, nerr := agent.BuildReported(cfg, log, nil, a.strict, func(warning bool, msg string) {
		kind := "error"
		if warning {
			kind = "warning"
		}
		fmt.Fprintf(stderr, "%s: %s\n", kind, msg)
	})
	if nerr > 0 {
		fmt.Fprintf(stderr, "sluice: agent %q not started: %d configuration error(s)\n", a.name, nerr)
		return nil, nil, false
	}
	return ag, cfg, true
}

// readConf reads the configuration files (at startup and on a reload).
func readConf(a *agentArgs) (*conf.AgentConfig, error) {
	if err := sluice.RegistryErr(); err != nil {
		return nil, err
	}
	return conf.Load(a.files, a.name, a.system, os.LookupEnv)
}

func cmdAgent(args []string, stdout, stderr io.Writer) int {
	a, err := parseAgentArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sluice agent: %v\n\n%s", err, agentUsage)
		return 2
	}
	log := newLogger(a.system, stderr)
	if !registerPlugins(a.pluginsPath, a.confDir, stderr) {
		return 1
	}
	// Plugin processes die with the agent anyway (Pdeathsig); this reaps
	// them on every way out of a clean run.
	defer plugins.Cleanup()
	for _, ig := range a.ignored {
		log.Info("ignoring JVM-only option", "option", ig)
	}
	notes, err := applyJavaSSLProps(a.system)
	if err != nil {
		fmt.Fprintf(stderr, "sluice agent: %v\n", err)
		return 2
	}
	for _, n := range notes {
		log.Info("global SSL setting: " + n)
	}
	interval, err := pollInterval(a)
	if err != nil {
		fmt.Fprintf(stderr, "sluice agent: %v\n", err)
		return 2
	}
	// SIGHUP reloads at once (also with --no-reload-conf). Caught from
	// here on: a HUP while the files are first read is a reload later,
	// not the end of the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// Before the files are read: a change made meanwhile is seen.
	sv := agent.NewSupervisor(agent.SupervisorConfig{
		Reload:   hup,
		Files:    a.files,
		Interval: interval,
		Read:     func() (*conf.AgentConfig, error) { return readConf(a) },
		Strict:   a.strict,
		Log:      log,
		Stderr:   stderr,
	})
	ag, cfg, ok := load(a, log, stderr)
	if !ok {
		return 1
	}
	var mon *agent.Monitor
	if typ, ok := a.system["flume.monitoring.type"]; ok {
		if !strings.EqualFold(typ, "http") {
			fmt.Fprintf(stderr, "sluice: -Dflume.monitoring.type=%s is not supported (only http)\n", typ)
			return 1
		}
		addr, mcfg, err := monitorSettings(a.system, os.Getenv)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
		mon = agent.NewMonitor(ag, log)
		mon.Config = mcfg
		if err := mon.Start(addr); err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
		sv.SetMonitor(mon)
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = mon.Stop(stopCtx)
		}()
	}
	// The collector's pacing: see internal/gctune (GOGC or GOMEMLIMIT in
	// the environment turn it off).
	if tu := gctune.Start(gctune.DefaultFloor, os.Getenv); tu != nil {
		defer tu.Stop()
		log.Debug("gc: heap floor before collection", "bytes", gctune.DefaultFloor)
	}
	stopProfile, ok := startCPUProfile(a.system, stderr)
	if !ok {
		return 1
	}
	defer stopProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal a second one kills the process the default
	// way, also while a reload is under way.
	go func() { <-ctx.Done(); stop() }()
	return sv.Run(ctx, ag, cfg)
}

// startCPUProfile writes a CPU profile of the whole run (read it with `go
// tool pprof`) to the file named by -Dsluice.cpuprofile or
// SLUICE_CPUPROFILE, for finding where an agent spends its time. Off
// unless asked for.
func startCPUProfile(system map[string]string, stderr io.Writer) (stop func(), ok bool) {
	path, set := system["sluice.cpuprofile"]
	if !set {
		path = os.Getenv("SLUICE_CPUPROFILE")
	}
	if path == "" {
		return func() {}, true
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice: cpu profile: %v\n", err)
		return nil, false
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "sluice: cpu profile: %v\n", err)
		}
	}, true
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	a, err := parseAgentArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sluice check: %v\n\n%s", err, checkUsage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := applyJavaSSLProps(a.system); err != nil {
		fmt.Fprintf(stderr, "sluice check: %v\n", err)
		return 2
	}
	if !registerPlugins(a.pluginsPath, a.confDir, stderr) {
		return 1
	}
	defer plugins.Cleanup()
	ag, _, ok := load(a, log, stderr)
	if !ok {
		return 1
	}
	fmt.Fprintf(stdout, "agent %s: configuration OK\n", ag.Name())
	for _, l := range ag.Describe() {
		fmt.Fprintf(stdout, "  %s\n", l)
	}
	return 0
}
