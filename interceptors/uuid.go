package interceptors

import (
	"crypto/rand"
	"strings"

	"github.com/sluiceio/sluice"
)

// UUIDConfig holds the uuid interceptor's properties.
type UUIDConfig struct {
	HeaderName       string `flume:"headerName" doc:"header that receives the UUID"`
	PreserveExisting bool   `flume:"preserveExisting" doc:"keep a header that is already set"`
	Prefix           string `flume:"prefix" doc:"text put before each UUID"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "uuid",
		Aliases:   []string{"org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc:       "Sets a header (id) to a random (version 4) UUID, optionally prefixed, so events can be de-duplicated downstream.",
		Notes: `Flume ships this interceptor in its morphline-solr-sink module and has no short name for it;
Sluice accepts Flume's class name and ` + "`uuid`" + `. UUIDs come from crypto/rand, one read per batch.`,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder\n" +
			"a1.sources.r1.interceptors.i1.headerName = id\n" +
			"a1.sources.r1.interceptors.i1.prefix = web1-\n",
		Config: func() any { return &UUIDConfig{HeaderName: "id", PreserveExisting: true} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c := cfg.(*UUIDConfig)
			return &UUID{header: c.HeaderName, preserve: c.PreserveExisting, prefix: c.Prefix}, nil
		},
	})
}

// UUID sets a random UUID header.
type UUID struct {
	header   string
	preserve bool
	prefix   string
}

// Intercept sets the header on every event of the batch, in place.
func (u *UUID) Intercept(events []*sluice.Event) []*sluice.Event {
	if len(events) == 0 {
		return events
	}
	random := make([]byte, 16*len(events))
	rand.Read(random) // never fails since Go 1.24 (it aborts instead)
	for i, e := range events {
		if u.preserve {
			if _, ok := e.Headers[u.header]; ok {
				continue
			}
		}
		e.SetHeader(u.header, u.format(random[16*i:16*i+16]))
	}
	return events
}

// format renders 16 random bytes as prefix + a version 4, variant 1 UUID
// in one allocation.
func (u *UUID) format(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexdigits = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(len(u.prefix) + 36)
	sb.WriteString(u.prefix)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			sb.WriteByte('-')
		}
		sb.WriteByte(hexdigits[x>>4])
		sb.WriteByte(hexdigits[x&0x0f])
	}
	return sb.String()
}
