package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/plugins/sdk"
	"github.com/sluiceio/sluice/plugins/wire"
)

// Config is a plugin component's properties: the plugin.* keys are the
// agent's, every other key goes to the plugin, which validates it.
type Config struct {
	CallTimeout    time.Duration     `flume:"plugin.callTimeout" unit:"ms" doc:"longest a call (a batch) may take before the plugin counts as hung: it is killed and restarted, the batch rolled back"`
	StartTimeout   time.Duration     `flume:"plugin.startTimeout" unit:"ms" doc:"longest the plugin may take to start and answer the handshake"`
	HealthInterval time.Duration     `flume:"plugin.healthInterval" unit:"ms" doc:"time between health checks of the plugin process"`
	MaxBackoff     time.Duration     `flume:"plugin.maxBackoff" unit:"ms" doc:"longest wait between restarts of a failing plugin (from 250 ms, doubling)"`
	Props          map[string]string `flume:"*" doc:"every other property, passed to the plugin"`

	t         *target
	batchSize int
	warnings  []error
}

type target struct {
	m    *Manifest
	kind sluice.Kind
	typ  string
}

func defaults(t *target) func() *Config {
	return func() *Config {
		return &Config{CallTimeout: 30 * time.Second, StartTimeout: 20 * time.Second,
			HealthInterval: 5 * time.Second, MaxBackoff: 30 * time.Second, t: t}
	}
}

func spec(m *Manifest, kind sluice.Kind, c Component) sluice.Spec {
	t := &target{m: m, kind: kind, typ: c.Type}
	s := sluice.Spec{Kind: kind, Name: c.Type, Stability: sluice.Experimental,
		Doc: strings.TrimSpace(c.Doc + fmt.Sprintf(" Plugin %s (%s).", m.Name, m.Dir))}
	switch kind {
	case sluice.KindSource:
		s.Factory = sluice.MakeFactory(defaults(t), newSource)
	case sluice.KindSink:
		s.Factory = sluice.MakeFactory(defaults(t), newSink)
	default:
		s.Factory = sluice.MakeFactory(defaults(t), newInterceptor)
	}
	return s
}

// Validate starts the plugin, has it check the properties, and stops it:
// its verdict shows in `sluice check` and at agent start, positioned at
// the property it names.
func (c *Config) Validate() error {
	for key, d := range map[string]time.Duration{"plugin.callTimeout": c.CallTimeout,
		"plugin.startTimeout": c.StartTimeout, "plugin.healthInterval": c.HealthInterval, "plugin.maxBackoff": c.MaxBackoff} {
		if d <= 0 {
			return conf.Invalid(key, "%q must be positive", d.String())
		}
	}
	h := newHost(c, "", "", slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), c.StartTimeout+c.CallTimeout)
	defer cancel()
	p, resp, err := h.launch(ctx, true)
	if p != nil {
		p.kill(false)
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range resp.Errors {
		errs = append(errs, propError(e))
	}
	c.warnings = nil
	for _, e := range resp.Warnings {
		c.warnings = append(c.warnings, propError(e))
	}
	c.batchSize = int(resp.BatchSize)
	return errors.Join(errs...)
}

// Warnings are the plugin's warnings (unknown keys, deprecated ones).
func (c *Config) Warnings() []error { return c.warnings }

func propError(e *pluginv1.PropertyError) error {
	if e.Key == "" {
		return errors.New(e.Message)
	}
	return conf.Invalid(e.Key, "%s", e.Message)
}

// host runs one component's plugin process: it starts it on demand,
// checks its health, and restarts it after a crash, a hang or a failed
// call, waiting longer after each failure in a row.
type host struct {
	cfg   Config
	t     *target
	agent string
	name  string
	log   *slog.Logger

	mu       sync.Mutex
	p        *proc
	backoff  time.Duration
	next     time.Time
	lastErr  error
	started  int // processes started, for the "restarted" log
	stopped  bool
	stopLoop chan struct{}
	loopDone chan struct{}
}

type proc struct {
	cmd    *exec.Cmd
	client *plugin.Client
	rpc    plugin.ClientProtocol
	src    pluginv1.SourceClient
	sink   pluginv1.SinkClient
	ic     pluginv1.InterceptorClient
	// batched: the plugin speaks protocol version 2, batches go framed in
	// one bytes field (wire.AppendBatch).
	batched bool
}

// versionedPlugins offers every version in wire.Versions; the plugin picks
// the newest it speaks.
func versionedPlugins() map[int]plugin.PluginSet {
	m := map[int]plugin.PluginSet{}
	for _, v := range wire.Versions {
		m[v] = wire.Plugins()
	}
	return m
}

// versionList is wire.Versions for a message: "1 and 2".
func versionList() string {
	s := make([]string, len(wire.Versions))
	for i, v := range wire.Versions {
		s[i] = fmt.Sprint(v)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func newHost(cfg *Config, agent, name string, log *slog.Logger) *host {
	return &host{cfg: *cfg, t: cfg.t, agent: agent, name: name,
		log: log.With("plugin", cfg.t.m.Name)}
}

var versionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// launch starts the plugin process and configures it (and, unless
// checkOnly, starts the component in it).
func (h *host) launch(ctx context.Context, checkOnly bool) (*proc, *pluginv1.ConfigureResponse, error) {
	m := h.t.m
	cmd := exec.Command(m.Path(), m.Args...)
	cmd.Dir = m.Dir
	cmd.SysProcAttr = sysProcAttr()
	out := &lineLog{log: h.log, msg: "plugin output"}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: versionedPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     h.cfg.StartTimeout,
		Managed:          true,
		Stderr:           out,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn,
			Output: &lineLog{log: h.log, msg: "plugin host", warn: true}}),
		// Large flow-control windows: a batch of a thousand events is
		// sent without waiting for window updates.
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(sdk.MaxMessage), grpc.MaxCallSendMsgSize(sdk.MaxMessage), grpc.ForceCodecV2(wire.Codec)),
			grpc.WithInitialWindowSize(sdk.Window), grpc.WithInitialConnWindowSize(sdk.Window),
			experimental.WithBufferPool(wire.BufferPool)},
	})
	fail := func(err error) (*proc, *pluginv1.ConfigureResponse, error) {
		(&proc{cmd: cmd, client: client}).kill(true)
		return nil, nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		msg := err.Error()
		if v := versionRE.FindStringSubmatch(msg); v != nil {
			return fail(fmt.Errorf("plugin %s (%s) speaks Sluice plugin protocol version %s, this agent versions %s: rebuild the plugin for this agent",
				m.Name, m.Path(), v[1], versionList()))
		}
		return fail(fmt.Errorf("plugin %s: start %s: %v", m.Name, m.Path(), strings.TrimSpace(msg)))
	}
	raw, err := rpc.Dispense(string(h.t.kind))
	if err != nil {
		return fail(fmt.Errorf("plugin %s: %s service: %w", m.Name, h.t.kind, err))
	}
	p := &proc{cmd: cmd, client: client, rpc: rpc, batched: client.NegotiatedVersion() >= 2}
	req := &pluginv1.ConfigureRequest{Kind: string(h.t.kind), Type: h.t.typ, Name: h.name, Agent: h.agent,
		Properties: h.cfg.Props, CheckOnly: checkOnly}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.CallTimeout)
	defer cancel()
	var resp *pluginv1.ConfigureResponse
	switch c := raw.(type) {
	case pluginv1.SourceClient:
		p.src = c
		resp, err = c.Configure(cctx, req)
		if err == nil && len(resp.Errors) == 0 && !checkOnly {
			_, err = c.Start(cctx, &pluginv1.StartRequest{})
		}
	case pluginv1.SinkClient:
		p.sink = c
		resp, err = c.Configure(cctx, req)
		if err == nil && len(resp.Errors) == 0 && !checkOnly {
			_, err = c.Start(cctx, &pluginv1.StartRequest{})
		}
	case pluginv1.InterceptorClient:
		p.ic = c
		resp, err = c.Configure(cctx, req)
		if err == nil && len(resp.Errors) == 0 && !checkOnly {
			_, err = c.Start(cctx, &pluginv1.StartRequest{})
		}
	default:
		return fail(fmt.Errorf("plugin %s: unexpected client %T", m.Name, raw))
	}
	if err != nil {
		return fail(fmt.Errorf("plugin %s: configure %s %q: %w", m.Name, h.t.kind, h.t.typ, err))
	}
	if !checkOnly && len(resp.Errors) > 0 {
		return fail(fmt.Errorf("plugin %s: configuration refused: %w", m.Name, propError(resp.Errors[0])))
	}
	return p, resp, nil
}

// get returns the running process, starting it when there is none and the
// backoff after the last failure has passed.
func (h *host) get(ctx context.Context) (*proc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, fmt.Errorf("plugin %s: stopped", h.t.m.Name)
	}
	if h.p != nil {
		if !h.p.client.Exited() {
			return h.p, nil
		}
		dead := h.p
		h.p = nil
		h.failedLocked(errors.New("the plugin process exited"))
		go dead.kill(true)
	}
	if wait := time.Until(h.next); wait > 0 {
		return nil, fmt.Errorf("plugin %s: restarting in %s after: %v", h.t.m.Name, wait.Round(time.Millisecond), h.lastErr)
	}
	p, _, err := h.launch(ctx, false)
	if err != nil {
		h.failedLocked(err)
		return nil, err
	}
	h.started++
	if h.started > 1 {
		h.log.Info("plugin restarted", "component", h.name, "restarts", h.started-1)
	}
	h.p = p
	return p, nil
}

func (h *host) failedLocked(err error) {
	h.lastErr = err
	if h.backoff == 0 {
		h.backoff = 250 * time.Millisecond
	} else if h.backoff *= 2; h.backoff > h.cfg.MaxBackoff {
		h.backoff = h.cfg.MaxBackoff
	}
	h.next = time.Now().Add(h.backoff)
	h.log.Warn("plugin failed; restarting it", "component", h.name, "err", err, "backoff", h.backoff)
}

// fail kills p (a crash, a hang, a broken connection) so the next call
// starts a new process. It returns once p is reaped.
func (h *host) fail(p *proc, err error) {
	h.mu.Lock()
	if h.p == p {
		h.p = nil
		h.failedLocked(err)
	}
	h.mu.Unlock()
	p.kill(true)
}

// kill ends the process and reaps it. hard: SIGKILL first, for a process
// that may not answer (hung, stopped), since go-plugin's own Kill first
// asks the plugin over gRPC to shut down and waits for that answer; else
// that polite request, then SIGKILL after a few seconds.
func (p *proc) kill(hard bool) {
	if hard && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() { p.client.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Kill()
		}
		<-done
	}
}

// ok resets the backoff after a call that worked.
func (h *host) ok() {
	h.mu.Lock()
	h.backoff = 0
	h.mu.Unlock()
}

func (h *host) start(ctx context.Context) error {
	if _, err := h.get(ctx); err != nil {
		return err
	}
	h.stopLoop, h.loopDone = make(chan struct{}), make(chan struct{})
	go h.healthLoop(h.stopLoop, h.loopDone)
	return nil
}

// healthLoop pings the process, and restarts it when it died or stopped
// answering, so a crash is repaired before the next batch needs it.
func (h *host) healthLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(h.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		p := h.p
		h.mu.Unlock()
		if p == nil {
			_, _ = h.get(context.Background())
			continue
		}
		if err := ping(p, h.cfg.CallTimeout); err != nil {
			h.fail(p, fmt.Errorf("health check: %w", err))
		}
	}
}

func ping(p *proc, timeout time.Duration) error {
	if p.client.Exited() {
		return errors.New("the plugin process exited")
	}
	ch := make(chan error, 1)
	go func() { ch <- p.rpc.Ping() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer within %s", timeout)
	}
}

// stop stops the component in the plugin and then the process, and waits
// until it is reaped.
func (h *host) stop(ctx context.Context) error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	p := h.p
	h.p = nil
	h.mu.Unlock()
	if h.stopLoop != nil {
		close(h.stopLoop)
		<-h.loopDone
	}
	if p == nil {
		return nil
	}
	var err error
	if !p.client.Exited() {
		switch {
		case p.src != nil:
			_, err = p.src.Stop(ctx, &pluginv1.StopRequest{})
		case p.sink != nil:
			_, err = p.sink.Stop(ctx, &pluginv1.StopRequest{})
		case p.ic != nil:
			_, err = p.ic.Stop(ctx, &pluginv1.StopRequest{})
		}
	}
	p.kill(err != nil)
	if err != nil {
		return fmt.Errorf("plugin %s: stop: %w", h.t.m.Name, err)
	}
	return nil
}

// Cleanup kills every plugin process this agent started and waits for
// them; main calls it on the way out.
func Cleanup() { plugin.CleanupClients() }

// lineLog logs what a plugin writes, line by line.
type lineLog struct {
	log  *slog.Logger
	msg  string
	warn bool
	mu   sync.Mutex
	buf  []byte
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
		if line == "" {
			continue
		}
		if l.warn {
			l.log.Warn(l.msg, "line", line)
		} else {
			l.log.Info(l.msg, "line", line)
		}
	}
	return len(b), nil
}
