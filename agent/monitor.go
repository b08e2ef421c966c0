package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
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
// value a string, as Flume's Gson output has it. Beside it:
// /metrics/prometheus (the same counters and the process's, in
// Prometheus's text format) and /health (see docs/operations.md).
type Monitor struct {
	agent atomic.Pointer[Agent] // swapped by SetAgent when the configuration is reloaded
	srv   *http.Server
	ln    net.Listener
	log   *slog.Logger

	// Config is read by Start and ServeHTTP; set it before Start.
	Config MonitorConfig
}

// MonitorConfig secures the monitoring port and tunes /health.
type MonitorConfig struct {
	// CertFile and KeyFile, both set, serve HTTPS only.
	CertFile, KeyFile string
	// User and Password, when User is set, require HTTP basic
	// authentication for every path.
	User, Password string
	// UnhealthyAfter is how long a component may keep failing before
	// /health reports it; DefaultUnhealthyAfter when zero.
	UnhealthyAfter time.Duration
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
	if m.Config.User != "" && !m.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="sluice monitoring", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	unhealthyAfter := m.Config.UnhealthyAfter
	if unhealthyAfter <= 0 {
		unhealthyAfter = DefaultUnhealthyAfter
	}
	switch strings.ToLower(r.URL.Path) {
	case "/metrics/prometheus":
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := writePrometheus(w, m.agent.Load(), unhealthyAfter); err != nil {
			m.log.Debug("monitoring: writing the prometheus metrics", "err", err)
		}
	case "/health":
		serveHealth(w, m.agent.Load(), unhealthyAfter)
	case "/dashboard":
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(dashboardPage)
	case "/dashboard/ws":
		m.serveDashboardWS(w, r, unhealthyAfter)
	case "/metrics":
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		body := map[string]map[string]string{}
		for k, c := range m.agent.Load().Counters() {
			body[k] = c.Snapshot()
		}
		_ = json.NewEncoder(w).Encode(body)
	case "/":
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		fmt.Fprint(w, `<html><body><a href="/metrics">Metrics</a> <a href="/metrics/prometheus">Prometheus</a> <a href="/health">Health</a> <a href="/dashboard">Dashboard</a></body></html>`)
	default:
		http.NotFound(w, r)
	}
}

// authorized checks basic credentials in constant time (of their hashes,
// so the lengths do not show either).
func (m *Monitor) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hu, wu := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(m.Config.User))
	hp, wp := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(m.Config.Password))
	okUser := subtle.ConstantTimeCompare(hu[:], wu[:]) == 1
	okPass := subtle.ConstantTimeCompare(hp[:], wp[:]) == 1
	return okUser && okPass
}

// Start listens on addr ("127.0.0.1:41414" style) and serves in the
// background, over TLS when Config names a certificate.
func (m *Monitor) Start(addr string) error {
	var tlsConf *tls.Config
	if m.Config.CertFile != "" || m.Config.KeyFile != "" {
		if m.Config.CertFile == "" || m.Config.KeyFile == "" {
			return errors.New("monitoring: TLS needs both a certificate and a key file")
		}
		cert, err := tls.LoadX509KeyPair(m.Config.CertFile, m.Config.KeyFile)
		if err != nil {
			return fmt.Errorf("monitoring: TLS certificate %q / key %q: %w", m.Config.CertFile, m.Config.KeyFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("monitoring: listen on %s: %w", addr, err)
	}
	scheme := "http"
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
		scheme = "https"
	}
	m.ln = ln
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("monitoring server stopped", "err", err)
		}
	}()
	m.log.Info("http monitoring started", "addr", ln.Addr().String(), "scheme", scheme, "basic_auth", m.Config.User != "")
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
