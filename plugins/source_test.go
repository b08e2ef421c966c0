package plugins

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// A source plugin's batches reach the channels in order, and the plugin
// hears that a batch was taken only once the channels committed it: while
// they refuse, nothing is acknowledged.
func TestSourcePluginAcknowledgedOnlyOnCommit(t *testing.T) {
	ackFile := filepath.Join(t.TempDir(), "acked")
	spec, ok := sluice.Lookup(sluice.KindSource, "test_counter")
	if !ok {
		t.Fatal("test_counter not registered")
	}
	cfg := spec.Config()
	if errs := conf.Decode(cfg, []conf.Prop{{Key: "total", Value: "250"}, {Key: "batch", Value: "20"}, {Key: "ackFile", Value: ackFile}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	proc := sluicetest.NewProcessor()
	proc.SetFail(errors.New("channel full"))
	v, err := spec.New(sluicetest.SourceEnv("r1", proc), cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := v.(*Source)
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Stop(context.Background())
	deadline := time.Now().Add(30 * time.Second)
	for proc.Calls() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the source made no attempts")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, err := os.ReadFile(ackFile); err == nil {
		t.Fatalf("the plugin heard %q acknowledged while the channel refused everything", b)
	}
	proc.SetFail(nil)
	events, err := proc.WaitFor(250, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if string(e.Body) != strconv.Itoa(i) {
			t.Fatalf("event %d is %q", i, e.Body)
		}
	}
	if len(events) != 250 {
		t.Fatalf("%d events, want 250", len(events))
	}
	for {
		b, _ := os.ReadFile(ackFile)
		if string(b) == "250" {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("acknowledged %q, want 250", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := src.h.p.cmd.Process.Pid
	if err := src.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(p) {
		t.Fatal("plugin alive after Stop")
	}
}
