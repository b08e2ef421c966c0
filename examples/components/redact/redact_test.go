package redact

import (
	"context"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestMasksThroughTheHandOff(t *testing.T) {
	in, _ := New(sluicetest.Env("i1"), &Config{Word: "secret", Mask: "***"})
	p := sluicetest.NewProcessorWith(in)
	if err := p.Process(context.Background(), []*sluice.Event{{Body: []byte("my secret is secret")}}, sluice.CallEvents); err != nil {
		t.Fatal(err)
	}
	if got := string(p.Events()[0].Body); got != "my *** is ***" {
		t.Errorf("body %q", got)
	}
}
