package interceptors

import (
	"strconv"
	"time"

	"github.com/sluiceio/sluice"
)

// TimestampConfig holds the timestamp interceptor's properties.
type TimestampConfig struct {
	HeaderName       string `flume:"headerName" alias:"header" doc:"header that receives the time in epoch milliseconds"`
	PreserveExisting bool   `flume:"preserveExisting" doc:"keep a header that is already set"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "timestamp",
		Aliases:   []string{"org.apache.flume.interceptor.TimestampInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc:       "Sets a header (timestamp) to the time the event passed the interceptor, in milliseconds since the Unix epoch.",
		Notes: `The clock is read once per batch and every event of the batch gets that value; Flume
reads it once per event, so within one batch Flume's values may differ by a millisecond or two.
Flume's user guide also calls the property ` + "`header`" + `; both spellings are accepted.`,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = timestamp\n" +
			"a1.sources.r1.interceptors.i1.headerName = timestamp\n" +
			"a1.sources.r1.interceptors.i1.preserveExisting = false\n",
		Config: func() any { return &TimestampConfig{HeaderName: "timestamp"} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c := cfg.(*TimestampConfig)
			return &Timestamp{header: c.HeaderName, preserve: c.PreserveExisting, now: time.Now}, nil
		},
	})
}

// Timestamp stamps events with the current time.
type Timestamp struct {
	header   string
	preserve bool
	now      func() time.Time
}

// Intercept sets the header on every event of the batch, in place.
func (t *Timestamp) Intercept(events []*sluice.Event) []*sluice.Event {
	if len(events) == 0 {
		return events
	}
	// One clock read and one formatted string shared by the whole batch.
	stamp := strconv.FormatInt(t.now().UnixMilli(), 10)
	for _, e := range events {
		if t.preserve {
			if _, ok := e.Headers[t.header]; ok {
				continue
			}
		}
		e.SetHeader(t.header, stamp)
	}
	return events
}
