package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultUnhealthyAfter is how long a component may keep failing (a sink
// that cannot deliver, a source whose channels refuse its batches) before
// /health reports it.
const DefaultUnhealthyAfter = 30 * time.Second

// ComponentHealth is one component in /health's answer.
type ComponentHealth struct {
	Kind    string `json:"kind"`
	Name    string `json:"component"`
	Type    string `json:"type"`
	Running bool   `json:"running"`
	Healthy bool   `json:"healthy"`
	// Reason says why the component is not healthy.
	Reason string `json:"reason,omitempty"`
	// FailingSince is when its current run of failures began.
	FailingSince *time.Time `json:"failingSince,omitempty"`
	Failures     int64      `json:"failures,omitempty"`
	// LastError is the last failure it reported (also after it
	// recovered), and when.
	LastError     string     `json:"lastError,omitempty"`
	LastErrorTime *time.Time `json:"lastErrorTime,omitempty"`

	failingFor time.Duration
}

// HealthReport is /health's JSON body.
type HealthReport struct {
	Status     string            `json:"status"` // ok or failing
	Agent      string            `json:"agent"`
	Failing    []ComponentHealth `json:"failing,omitempty"`
	Components []ComponentHealth `json:"components"`
}

// componentState says whether c runs and is healthy at now.
func componentState(c component, unhealthyAfter time.Duration, now time.Time) ComponentHealth {
	h := ComponentHealth{Kind: c.kind, Name: c.name, Type: c.typ}
	h.Running = c.counters.StartTime() > 0 && c.counters.StopTime() == 0
	if last := c.health.Last(); last != nil {
		at := last.At
		h.LastError, h.LastErrorTime = last.Err, &at
	}
	if since := c.health.FailingSince(); !since.IsZero() {
		h.FailingSince, h.Failures = &since, c.health.Failures()
		h.failingFor = max(now.Sub(since), 0)
	}
	switch {
	case !h.Running:
		h.Reason = "not running"
	case c.kind == "channel" && reportsUnhealthy(c):
		h.Reason = "the channel reports itself unhealthy (a write to its disk failed; see its log)"
	case h.FailingSince != nil && h.failingFor >= unhealthyAfter:
		what := "failing"
		switch c.kind {
		case "sink":
			what = "deliveries failing"
		case "source":
			what = "batches refused or reads failing"
		}
		h.Reason = fmt.Sprintf("%s for %s (%d failures)", what, h.failingFor.Round(time.Second), h.Failures)
	default:
		h.Healthy = true
	}
	return h
}

// Health reports every component of a; Status is "failing" when any is
// not healthy.
func (a *Agent) Health(unhealthyAfter time.Duration) HealthReport {
	r := HealthReport{Status: "ok", Agent: a.name, Components: []ComponentHealth{}}
	now := time.Now()
	for _, c := range a.components() {
		h := componentState(c, unhealthyAfter, now)
		r.Components = append(r.Components, h)
		if !h.Healthy {
			r.Failing = append(r.Failing, h)
			r.Status = "failing"
		}
	}
	return r
}

// serveHealth answers 200 when every component runs and none has been
// failing for longer than unhealthyAfter, 503 otherwise; the body says
// which and why in both cases.
func serveHealth(w http.ResponseWriter, a *Agent, unhealthyAfter time.Duration) {
	r := a.Health(unhealthyAfter)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
}

// reportsUnhealthy: the channel's own Unhealthy gauge (the file channel's,
// set when a write to its log failed) says 1 or true.
func reportsUnhealthy(c component) bool {
	bad := false
	c.counters.Each(func(name string, _ *atomic.Int64, gauge func() string) {
		if name == "Unhealthy" && gauge != nil {
			v := gauge()
			bad = v == "1" || v == "true"
		}
	})
	return bad
}
