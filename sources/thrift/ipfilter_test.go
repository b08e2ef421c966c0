package thrift

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/sluicetest"
)

// Flume's thrift source has no ipFilter, and neither has Sluice's: set,
// it is a warning saying every address may connect (an error under
// --strict), not a filter silently missing; the source still serves.
func TestIPFilterIsAWarningNotAFilter(t *testing.T) {
	cfg, errs := decode(t, map[string]string{"bind": "127.0.0.1", "port": "0", "ipFilter": "true", "ipFilterRules": "deny:ip:*"})
	var ce *conf.Error
	if len(errs) != 1 || !errors.As(errs[0], &ce) || !ce.Warning || ce.Key != "a1.sources.r1.ipFilter" {
		t.Fatalf("errors %v, want one warning on ipFilter", errs)
	}
	for _, want := range []string{"no IP filter", "every address may connect"} {
		if !strings.Contains(ce.Error(), want) {
			t.Errorf("warning %q lacks %q", ce, want)
		}
	}
	proc := sluicetest.NewProcessor()
	src, err := New(sluicetest.SourceEnv("r1", proc), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Stop(context.Background())
	c := dial(t, src.Addr().String(), flumethrift.DialOptions{})
	if err := c.AppendBatch(context.Background(), events(1, "x")); err != nil {
		t.Fatalf("the thrift source refused a client: %v", err)
	}
}
