package plugins

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/examples/plugins/jsonheaders/jsonheaders"
	"github.com/sluiceio/sluice/sluicetest"
)

func jsonEvents(n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte(fmt.Sprintf(`{"user":"u%d","level":"info","msg":"something happened to request %08d"}`, i%13, i)))
	}
	return out
}

// pluginInterceptor starts the json_headers plugin interceptor as the agent
// does; it is stopped when the test ends.
func pluginInterceptor(tb testing.TB) *Interceptor {
	tb.Helper()
	spec, ok := sluice.Lookup(sluice.KindInterceptor, "json_headers")
	if !ok {
		tb.Fatal("json_headers not registered")
	}
	cfg := spec.Config()
	if errs := conf.Decode(cfg, []conf.Prop{{Key: "fields", Value: "user level"}}); len(errs) > 0 {
		tb.Fatal(errs)
	}
	v, err := spec.New(sluicetest.Env("i1"), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ic := v.(*Interceptor)
	if err := ic.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ic.Stop(context.Background()) })
	return ic
}

func inProcessInterceptor(tb testing.TB) sluice.Interceptor {
	ic, err := jsonheaders.New(sluicetest.Env("i1"), &jsonheaders.Config{Fields: []string{"user", "level"}})
	if err != nil {
		tb.Fatal(err)
	}
	return ic
}

// The plugin interceptor returns what the same code returns in process,
// in protocol version 2 (the batch framed in one field) and in version 1
// (repeated Event messages: a plugin built before version 2, or written
// in another language), and with events that have headers already.
func TestPluginInterceptorMatchesInProcess(t *testing.T) {
	for _, v := range []string{"", "1"} {
		t.Run("protocol="+v, func(t *testing.T) {
			if v != "" {
				t.Setenv("SLUICE_PLUGIN_PROTOCOL", v)
			}
			pi := pluginInterceptor(t)
			in := func() []*sluice.Event {
				events := jsonEvents(50)
				events[3].Headers["user"] = "replaced"
				events[4].Headers["kept"], events[4].Headers[""] = "yes", ""
				events[5].Body = nil
				return events
			}
			got := pi.Intercept(in())
			want := inProcessInterceptor(t).Intercept(in())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("plugin:\n%v\nin process:\n%v", got[4], want[4])
			}
			if want[7].Headers["user"] != "u7" || want[7].Headers["level"] != "info" || want[4].Headers["kept"] != "yes" {
				t.Fatalf("headers %v, %v", want[7].Headers, want[4].Headers)
			}
			p, err := pi.h.get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p.batched != (v == "") {
				t.Fatalf("protocol %q: batched %v", v, p.batched)
			}
		})
	}
}

// BenchmarkJSONHeaders: the json_headers interceptor in process and as a
// plugin (a gRPC round trip with the batch both ways).
func BenchmarkJSONHeaders(b *testing.B) {
	for _, n := range []int{100, 1000} {
		events := jsonEvents(n)
		for _, mode := range []string{"inprocess", "plugin"} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode, n), func(b *testing.B) {
				var ic sluice.Interceptor
				if mode == "plugin" {
					ic = pluginInterceptor(b)
				} else {
					ic = inProcessInterceptor(b)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if out := ic.Intercept(events); len(out) != n {
						b.Fatalf("%d events back", len(out))
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// While the interceptor's process is dead, batches pass through unchanged
// (an interceptor cannot fail a batch); the restarted process intercepts
// again.
func TestInterceptorPluginCrashPassesThroughThenRecovers(t *testing.T) {
	ic := pluginInterceptor(t)
	ic.h.mu.Lock()
	first := ic.h.p.cmd.Process
	ic.h.mu.Unlock()
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	for alive(first.Pid) {
		time.Sleep(10 * time.Millisecond)
	}
	out := ic.Intercept(jsonEvents(5))
	if len(out) != 5 || len(out[0].Headers) != 0 || string(out[0].Body) != string(jsonEvents(1)[0].Body) {
		t.Fatalf("while down: %d events, first %v", len(out), out[0])
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out = ic.Intercept(jsonEvents(5))
		if out[3].Headers["user"] == "u3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interceptor did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ic.h.mu.Lock()
	second := ic.h.p.cmd.Process.Pid
	ic.h.mu.Unlock()
	if second == first.Pid {
		t.Fatal("same process")
	}
}
