package interceptors

import (
	"bytes"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// decode resolves typ in the registry and decodes kv (key, value, key,
// value...) into its config, as the agent's loader does.
func decode(t testing.TB, typ string, kv ...string) (*sluice.Spec, any, []*conf.Error) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindInterceptor, typ)
	if !ok {
		t.Fatalf("interceptor type %q is not registered", typ)
	}
	if len(kv)%2 != 0 {
		t.Fatalf("odd key/value list %q", kv)
	}
	var props []conf.Prop
	for i := 0; i < len(kv); i += 2 {
		props = append(props, conf.Prop{Key: kv[i], FullKey: "a1.sources.r1.interceptors.i1." + kv[i],
			Value: kv[i+1], File: "test.conf", Line: i/2 + 1})
	}
	cfg := spec.Config()
	var errs []*conf.Error
	for _, e := range conf.Decode(cfg, props) {
		if !e.Warning {
			errs = append(errs, e)
		}
	}
	return spec, cfg, errs
}

// build decodes and builds an interceptor, failing the test on any error.
func build(t testing.TB, typ string, kv ...string) sluice.Interceptor {
	t.Helper()
	spec, cfg, errs := decode(t, typ, kv...)
	if len(errs) > 0 {
		t.Fatalf("config errors: %v", errs)
	}
	return newFrom(t, spec, cfg, sluicetest.Env("i1"))
}

func newFrom(t testing.TB, spec *sluice.Spec, cfg any, env sluice.Env) sluice.Interceptor {
	t.Helper()
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	i, ok := v.(sluice.Interceptor)
	if !ok {
		t.Fatalf("%T is not a sluice.Interceptor", v)
	}
	return i
}

// configErr decodes a config that must fail and returns the joined error
// text; it also checks that New refuses the same config.
func configErr(t *testing.T, typ string, kv ...string) string {
	t.Helper()
	spec, cfg, errs := decode(t, typ, kv...)
	if len(errs) == 0 {
		t.Fatalf("config %q: no error", kv)
	}
	// What Validate refuses, New must refuse too (values that did not even
	// decode are the decoder's business).
	if v, ok := cfg.(conf.Validator); ok && v.Validate() != nil {
		if _, err := spec.New(sluicetest.Env("i1"), cfg); err == nil {
			t.Errorf("config %q: Validate failed but New accepted it", kv)
		}
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// ev builds an event from a body and header pairs.
func ev(body string, kv ...string) *sluice.Event {
	e := sluice.NewEvent([]byte(body))
	for i := 0; i+1 < len(kv); i += 2 {
		e.Headers[kv[i]] = kv[i+1]
	}
	return e
}

func headersString(h map[string]string) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", k, h[k])
	}
	return b.String()
}

// logBuffer is a concurrency-safe log sink for asserting on warnings.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func envWithLog(lb *logBuffer) sluice.Env {
	env := sluicetest.Env("i1")
	env.Logger = slog.New(slog.NewTextHandler(lb, nil))
	return env
}
