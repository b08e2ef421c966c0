package sluice

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are the monitoring attributes of one component, under Flume's
// names so that existing dashboards keep working. Values are atomics: the hot
// path adds whole batch sizes, never per event under a lock.
type Counters struct {
	typ   string // SOURCE, CHANNEL, SINK
	start atomic.Int64
	stop  atomic.Int64

	mu     sync.Mutex
	names  []string
	vals   map[string]*atomic.Int64
	gauges map[string]func() string
}

// NewCounters returns an empty set of counters of the given monitoring type
// ("SOURCE", "CHANNEL", "SINK").
func NewCounters(typ string) *Counters {
	return &Counters{typ: typ, vals: map[string]*atomic.Int64{}, gauges: map[string]func() string{}}
}

// Type is the monitoring type: SOURCE, CHANNEL or SINK.
func (c *Counters) Type() string { return c.typ }

// Get returns the named counter, creating it at zero on first use. Components
// look their counters up once, at construction, and keep the pointer.
func (c *Counters) Get(name string) *atomic.Int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.vals[name]; ok {
		return v
	}
	v := new(atomic.Int64)
	c.vals[name] = v
	c.names = append(c.names, name)
	return v
}

// Gauge registers a value computed when monitoring reads it.
func (c *Counters) Gauge(name string, f func() string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.gauges[name]; !ok {
		c.names = append(c.names, name)
	}
	c.gauges[name] = f
}

// Started records the start time (Flume's StartTime) and clears StopTime.
func (c *Counters) Started() { c.start.Store(time.Now().UnixMilli()); c.stop.Store(0) }

// Stopped records the stop time (Flume's StopTime).
func (c *Counters) Stopped() { c.stop.Store(time.Now().UnixMilli()) }

// StartTime is when the component last started, in Unix milliseconds (0 if
// it never did).
func (c *Counters) StartTime() int64 { return c.start.Load() }

// StopTime is when the component last stopped after its start, in Unix
// milliseconds (0 while it runs).
func (c *Counters) StopTime() int64 { return c.stop.Load() }

// Each calls f once per attribute (not StartTime, StopTime or Type), in
// the order they were registered: a counter with its atomic, a gauge with
// its function. The list is copied first, so f runs without the lock.
func (c *Counters) Each(f func(name string, counter *atomic.Int64, gauge func() string)) {
	type attr struct {
		name string
		v    *atomic.Int64
		g    func() string
	}
	c.mu.Lock()
	attrs := make([]attr, 0, len(c.names))
	for _, n := range c.names {
		attrs = append(attrs, attr{n, c.vals[n], c.gauges[n]})
	}
	c.mu.Unlock()
	for _, a := range attrs {
		if a.g != nil {
			f(a.name, nil, a.g)
		} else {
			f(a.name, a.v, nil)
		}
	}
}

// Snapshot returns every attribute as a string, as Flume's JSON monitoring
// reports them.
func (c *Counters) Snapshot() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.names)+3)
	for _, n := range c.names {
		if g, ok := c.gauges[n]; ok {
			out[n] = g()
			continue
		}
		out[n] = strconv.FormatInt(c.vals[n].Load(), 10)
	}
	out["StartTime"] = strconv.FormatInt(c.start.Load(), 10)
	out["StopTime"] = strconv.FormatInt(c.stop.Load(), 10)
	out["Type"] = c.typ
	return out
}

// SourceCounters are Flume's SourceCounter attributes.
type SourceCounters struct {
	*Counters
	EventReceived, EventAccepted             *atomic.Int64
	AppendReceived, AppendAccepted           *atomic.Int64
	AppendBatchReceived, AppendBatchAccepted *atomic.Int64
	OpenConnection                           *atomic.Int64
	EventReadFail, ChannelWriteFail          *atomic.Int64
	GenericProcessingFail                    *atomic.Int64
}

// NewSourceCounters returns Flume's source attributes, all zero.
func NewSourceCounters() *SourceCounters {
	c := NewCounters("SOURCE")
	return &SourceCounters{
		Counters:              c,
		EventReceived:         c.Get("EventReceivedCount"),
		EventAccepted:         c.Get("EventAcceptedCount"),
		AppendReceived:        c.Get("AppendReceivedCount"),
		AppendAccepted:        c.Get("AppendAcceptedCount"),
		AppendBatchReceived:   c.Get("AppendBatchReceivedCount"),
		AppendBatchAccepted:   c.Get("AppendBatchAcceptedCount"),
		OpenConnection:        c.Get("OpenConnectionCount"),
		EventReadFail:         c.Get("EventReadFail"),
		ChannelWriteFail:      c.Get("ChannelWriteFail"),
		GenericProcessingFail: c.Get("GenericProcessingFail"),
	}
}

// ChannelCounters are Flume's ChannelCounter attributes. ChannelSize,
// ChannelCapacity and ChannelFillPercentage are gauges set by the channel
// with SetSizer.
type ChannelCounters struct {
	*Counters
	EventPutAttempt, EventPutSuccess   *atomic.Int64
	EventTakeAttempt, EventTakeSuccess *atomic.Int64
}

// NewChannelCounters returns Flume's channel attributes, all zero.
func NewChannelCounters() *ChannelCounters {
	c := NewCounters("CHANNEL")
	cc := &ChannelCounters{
		Counters:         c,
		EventPutAttempt:  c.Get("EventPutAttemptCount"),
		EventPutSuccess:  c.Get("EventPutSuccessCount"),
		EventTakeAttempt: c.Get("EventTakeAttemptCount"),
		EventTakeSuccess: c.Get("EventTakeSuccessCount"),
	}
	return cc
}

// SetSizer registers the size gauges from a channel's Size and Capacity.
func (cc *ChannelCounters) SetSizer(s Sized) {
	cc.Gauge("ChannelSize", func() string { return strconv.FormatInt(s.Size(), 10) })
	cc.Gauge("ChannelCapacity", func() string { return strconv.FormatInt(s.Capacity(), 10) })
	cc.Gauge("ChannelFillPercentage", func() string {
		c := s.Capacity()
		if c == 0 {
			// Flume divides by zero here and reports Double.MAX_VALUE.
			return "1.7976931348623157E308"
		}
		return formatJavaDouble(float64(s.Size()) * 100 / float64(c))
	})
}

// formatJavaDouble renders a float the way Java's Double.toString does for
// the values monitoring shows (always a decimal point).
func formatJavaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s
		}
	}
	return s + ".0"
}

// SinkCounters are Flume's SinkCounter attributes.
type SinkCounters struct {
	*Counters
	ConnectionCreated, ConnectionClosed, ConnectionFailed *atomic.Int64
	BatchEmpty, BatchUnderflow, BatchComplete             *atomic.Int64
	EventDrainAttempt, EventDrainSuccess                  *atomic.Int64
	EventWriteFail, ChannelReadFail                       *atomic.Int64
}

// NewSinkCounters returns Flume's sink attributes, all zero.
func NewSinkCounters() *SinkCounters {
	c := NewCounters("SINK")
	return &SinkCounters{
		Counters:          c,
		ConnectionCreated: c.Get("ConnectionCreatedCount"),
		ConnectionClosed:  c.Get("ConnectionClosedCount"),
		ConnectionFailed:  c.Get("ConnectionFailedCount"),
		BatchEmpty:        c.Get("BatchEmptyCount"),
		BatchUnderflow:    c.Get("BatchUnderflowCount"),
		BatchComplete:     c.Get("BatchCompleteCount"),
		EventDrainAttempt: c.Get("EventDrainAttemptCount"),
		EventDrainSuccess: c.Get("EventDrainSuccessCount"),
		EventWriteFail:    c.Get("EventWriteFail"),
		ChannelReadFail:   c.Get("ChannelReadFail"),
	}
}

// CountBatch records a taken batch's size against batchSize the way Flume's
// sinks do (empty, underflow or complete).
func (s *SinkCounters) CountBatch(n, batchSize int) {
	switch {
	case n == 0:
		s.BatchEmpty.Add(1)
	case n < batchSize:
		s.BatchUnderflow.Add(1)
	default:
		s.BatchComplete.Add(1)
	}
}
