// Package redact is the example interceptor of docs/writing-a-component.md:
// it masks every occurrence of a word in event bodies.
package redact

import (
	"bytes"

	"github.com/sluiceio/sluice"
)

// Config holds the interceptor's properties.
type Config struct {
	Word string `flume:"word" required:"true" doc:"the word to mask"`
	Mask string `flume:"mask" doc:"what replaces it"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindInterceptor, Name: "example_redact", Stability: sluice.Experimental,
		Doc:     "Masks every occurrence of a word in event bodies.",
		Example: "a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = example_redact\na1.sources.r1.interceptors.i1.word = secret\n",
		Factory: sluice.MakeFactory(func() *Config { return &Config{Mask: "***"} }, New),
	})
}

// Interceptor is the running interceptor.
type Interceptor struct{ word, mask []byte }

// New builds it from a validated config.
func New(env sluice.Env, cfg *Config) (*Interceptor, error) {
	return &Interceptor{word: []byte(cfg.Word), mask: []byte(cfg.Mask)}, nil
}

// Intercept changes the batch in place and returns it. It runs once per
// batch on the source's goroutine, so it needs no lock.
func (i *Interceptor) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		if bytes.Contains(e.Body, i.word) {
			e.Body = bytes.ReplaceAll(e.Body, i.word, i.mask)
		}
	}
	return events
}
