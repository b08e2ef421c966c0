package agent

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/sluiceio/sluice"
)

//go:embed dashboard/index.html
var dashboardPage []byte

// DashNode is one component in a dashboard snapshot.
type DashNode struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Channels: a source's channels, a sink's one channel.
	Channels []string `json:"channels,omitempty"`
	Group    string   `json:"group,omitempty"` // a sink's sink group
	// Count is what moves: events a source accepted, a channel took in,
	// a sink delivered. Out is what a channel handed out.
	Count    int64   `json:"count"`
	Out      int64   `json:"out"`
	Size     int64   `json:"size"`
	Capacity int64   `json:"capacity"`
	Fill     float64 `json:"fill"`
	Errors   int64   `json:"errors"`
	Running  bool    `json:"running"`
	Healthy  bool    `json:"healthy"`
	Reason   string  `json:"reason,omitempty"`
	// LastError is the component's last failure, if any.
	LastError string `json:"lastError,omitempty"`
}

// DashGroup is a sink group.
type DashGroup struct {
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Sinks []string `json:"sinks"`
}

// DashSnapshot is what the dashboard's WebSocket sends, once a second.
type DashSnapshot struct {
	Agent    string      `json:"agent"`
	Time     int64       `json:"time"` // Unix milliseconds
	Sources  []DashNode  `json:"sources"`
	Channels []DashNode  `json:"channels"`
	Sinks    []DashNode  `json:"sinks"`
	Groups   []DashGroup `json:"groups"`
}

// errorAttrs are the counters a component's error count adds up.
var errorAttrs = map[string][]string{
	"source": {"ChannelWriteFail", "EventReadFail", "GenericProcessingFail"},
	"sink":   {"EventWriteFail", "ConnectionFailedCount", "ChannelReadFail"},
}

func counterValues(c *sluice.Counters) map[string]int64 {
	out := map[string]int64{}
	c.Each(func(name string, v *atomic.Int64, gauge func() string) {
		if v != nil {
			out[name] = v.Load()
		} else if f, err := strconv.ParseFloat(gauge(), 64); err == nil {
			out[name] = int64(f)
		}
	})
	return out
}

// Dashboard returns the agent's topology and counters as the dashboard
// draws them.
func (a *Agent) Dashboard(unhealthyAfter time.Duration) DashSnapshot {
	now := time.Now()
	snap := DashSnapshot{Agent: a.name, Time: now.UnixMilli(), Sources: []DashNode{}, Channels: []DashNode{}, Sinks: []DashNode{}, Groups: []DashGroup{}}
	srcChannels := map[string][]string{}
	for _, s := range a.cfg.Sources {
		srcChannels[s.Name] = s.Channels
	}
	group := map[string]string{}
	for _, g := range a.cfg.SinkGroups {
		typ := g.Type
		if typ == "" {
			typ = "default"
		}
		snap.Groups = append(snap.Groups, DashGroup{Name: g.Name, Type: typ, Sinks: g.Sinks})
		for _, k := range g.Sinks {
			group[k] = g.Name
		}
	}
	sinkChannel := map[string]string{}
	for _, k := range a.sinks {
		sinkChannel[k.name] = k.channel
	}
	for _, c := range a.components() {
		st := componentState(c, unhealthyAfter, now)
		v := counterValues(c.counters)
		n := DashNode{Name: c.name, Type: c.typ, Running: st.Running, Healthy: st.Healthy, Reason: st.Reason, LastError: st.LastError}
		for _, attr := range errorAttrs[c.kind] {
			n.Errors += v[attr]
		}
		switch c.kind {
		case "source":
			n.Channels, n.Count = srcChannels[c.name], v["EventAcceptedCount"]
			snap.Sources = append(snap.Sources, n)
		case "channel":
			n.Count, n.Out = v["EventPutSuccessCount"], v["EventTakeSuccessCount"]
			n.Size, n.Capacity = v["ChannelSize"], v["ChannelCapacity"]
			if n.Capacity > 0 {
				n.Fill = float64(n.Size) * 100 / float64(n.Capacity)
			}
			snap.Channels = append(snap.Channels, n)
		case "sink":
			n.Channels, n.Group, n.Count = []string{sinkChannel[c.name]}, group[c.name], v["EventDrainSuccessCount"]
			snap.Sinks = append(snap.Sinks, n)
		}
	}
	return snap
}

// DashboardInterval is how often the dashboard's WebSocket sends a
// snapshot.
const DashboardInterval = time.Second

// serveDashboardWS sends a snapshot at once and then every interval until
// the page goes away. The WebSocket library checks that the page asking
// is served from this host (Origin), so another site cannot read it.
func (m *Monitor) serveDashboardWS(w http.ResponseWriter, r *http.Request, unhealthyAfter time.Duration) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		m.log.Debug("dashboard: websocket refused", "err", err)
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context()) // the page sends nothing; this notices it leaving
	t := time.NewTicker(DashboardInterval)
	defer t.Stop()
	for {
		b, err := json.Marshal(m.agent.Load().Dashboard(unhealthyAfter))
		if err != nil {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.Write(wctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case <-t.C:
		}
	}
}
