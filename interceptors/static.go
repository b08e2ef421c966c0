package interceptors

import "github.com/sluiceio/sluice"

// StaticConfig holds the static interceptor's properties.
type StaticConfig struct {
	Key              string `flume:"key" doc:"name of the header to set"`
	Value            string `flume:"value" doc:"value of the header"`
	PreserveExisting bool   `flume:"preserveExisting" doc:"keep a header that is already set"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "static",
		Aliases:   []string{"org.apache.flume.interceptor.StaticInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc:       "Sets one fixed header on every event. Chain several static interceptors for several headers.",
		Notes:     "Same as Flume, including its defaults: without `key`/`value` the header is `key=value`, and an existing header is kept unless `preserveExisting = false`.",
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = static\n" +
			"a1.sources.r1.interceptors.i1.key = datacenter\n" +
			"a1.sources.r1.interceptors.i1.value = NEW_YORK\n",
		Config: func() any { return &StaticConfig{Key: "key", Value: "value", PreserveExisting: true} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c := cfg.(*StaticConfig)
			return &Static{key: c.Key, value: c.Value, preserve: c.PreserveExisting}, nil
		},
	})
}

// Static sets one fixed header.
type Static struct {
	key, value string
	preserve   bool
}

// Intercept sets the header on every event of the batch, in place.
func (s *Static) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		if s.preserve {
			if _, ok := e.Headers[s.key]; ok {
				continue
			}
		}
		e.SetHeader(s.key, s.value)
	}
	return events
}
