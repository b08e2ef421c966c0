// Package jsonheaders is the interceptor of the example plugin
// examples/plugins/jsonheaders: it copies fields of a JSON body into
// headers. A separate package so that a benchmark can run it in process.
package jsonheaders

import (
	"encoding/json"

	"github.com/sluiceio/sluice"
)

// Config is the interceptor's properties.
type Config struct {
	Fields []string `flume:"fields" sep:" " required:"true" doc:"top-level fields of the JSON body to copy, space-separated"`
	Prefix string   `flume:"prefix" doc:"put before each header name"`
}

// Interceptor is the running interceptor.
type Interceptor struct{ cfg Config }

// New builds it from a validated config.
func New(env sluice.Env, cfg *Config) (*Interceptor, error) { return &Interceptor{cfg: *cfg}, nil }

// Intercept copies the fields; a body that is not a JSON object passes
// unchanged.
func (i *Interceptor) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		var obj map[string]json.RawMessage
		if json.Unmarshal(e.Body, &obj) != nil {
			continue
		}
		for _, f := range i.cfg.Fields {
			raw, ok := obj[f]
			if !ok {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw) // numbers, booleans, objects: as written
			}
			if e.Headers == nil {
				e.Headers = map[string]string{}
			}
			e.Headers[i.cfg.Prefix+f] = s
		}
	}
	return events
}

// Spec is the interceptor's type.
func Spec() sluice.Spec {
	return sluice.Spec{
		Kind: sluice.KindInterceptor, Name: "json_headers", Stability: sluice.Experimental,
		Doc:     "Copies fields of a JSON body into headers.",
		Factory: sluice.MakeFactory(func() *Config { return &Config{} }, New),
	}
}
