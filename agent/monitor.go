package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Monitor serves Flume's HTTP monitoring JSON: GET /metrics returns
// {"SOURCE.r1": {"EventReceivedCount": "5", ...}, "CHANNEL.c1": {...}}, every
// value a string, as Flume's Gson output has it.
type Monitor struct {
	agent atomic.Pointer[Agent] // swapped by SetAgent when the configuration is reloaded
	srv   *http.Server
	ln    net.Listener
	log   *slog.Logger
}

// NewMonitor returns a monitor for a; Start binds it.
func NewMonitor(a *Agent, log *slog.Logger) *Monitor {
	m := &Monitor{log: log}
	m.agent.Store(a)
	return m
}

// SetAgent points the monitor at a (the agent of a reloaded configuration)
// without restarting the server: later requests report a's components.
func (m *Monitor) SetAgent(a *Agent) { m.agent.Store(a) }

// ServeHTTP answers like Flume's HTTPMetricsServer.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodTrace || r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	switch strings.ToLower(r.URL.Path) {
	case "/metrics":
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		body := map[string]map[string]string{}
		for k, c := range m.agent.Load().Counters() {
			body[k] = c.Snapshot()
		}
		_ = json.NewEncoder(w).Encode(body)
	case "/":
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		fmt.Fprint(w, `<html><body><a href="/metrics">Metrics</a></body></html>`)
	default:
		http.NotFound(w, r)
	}
}

// Start listens on addr (":41414" style) and serves in the background.
func (m *Monitor) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("monitoring: listen on %s: %w", addr, err)
	}
	m.ln = ln
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("monitoring server stopped", "err", err)
		}
	}()
	m.log.Info("http monitoring started", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address.
func (m *Monitor) Addr() net.Addr {
	if m.ln == nil {
		return nil
	}
	return m.ln.Addr()
}

// Stop shuts the server down.
func (m *Monitor) Stop(ctx context.Context) error {
	if m.srv == nil {
		return nil
	}
	return m.srv.Shutdown(ctx)
}
