package http

import (
	"context"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestShownURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://bob:s3cr3t@h:1/in?token=t0k3n&x=1": "https://bob:xxxxx@h:1/in?token=xxxxx&x=xxxxx",
		"http://h/in":     "http://h/in",
		"http://bob@h/in": "http://bob@h/in",
		"http://bob:s3cr3t@h:port/in?token=t0k3n": "http://xxxxx@h:port/in?xxxxx", // not a URL: cut anyway
	} {
		if got := shownURL(raw); got != want {
			t.Errorf("shownURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A password or token in the endpoint never reaches a log line or an error,
// whether the URL is valid (delivery fails: nothing listens) or not.
func TestEndpointSecretsNotShown(t *testing.T) {
	var logs sluicetest.LogBuf
	spec, _ := sluice.Lookup(sluice.KindSink, "http")
	cfg := spec.Config()
	endpoint := "https://bob:s3cr3t@127.0.0.1:1/in?token=t0k3n"
	if errs := conf.Decode(cfg, []conf.Prop{{Key: "endpoint", FullKey: "a1.sinks.k1.endpoint", Value: endpoint}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	env := sluicetest.Env("k1")
	env.Logger = logs.Logger()
	env.Channel = sluicetest.NewChannel(sluice.NewEvent([]byte("x")))
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	_, err = sluicetest.SinkLoop(env, s).Process(context.Background())
	if err == nil {
		t.Fatal("delivery to a closed port succeeded")
	}
	text := err.Error() + "\n" + logs.String()
	if !strings.Contains(text, "bob:xxxxx@127.0.0.1:1/in?token=xxxxx") {
		t.Errorf("the error does not show the redacted endpoint: %s", text)
	}
	for _, bad := range []string{
		"http://bob:s3cr3t@h:port/?token=t0k3n",
		"ftp://bob:s3cr3t@h/?token=t0k3n",
		"http://bob:s3cr3t@/?token=t0k3n",
	} {
		cfg := spec.Config()
		errs := conf.Decode(cfg, []conf.Prop{{Key: "endpoint", FullKey: "a1.sinks.k1.endpoint", Value: bad}})
		if len(errs) == 0 {
			t.Errorf("%q accepted", bad)
		}
		for _, e := range errs {
			text += "\n" + e.Error()
		}
	}
	for _, secret := range []string{"s3cr3t", "t0k3n"} {
		if strings.Contains(text, secret) {
			t.Errorf("%q shown:\n%s", secret, text)
		}
	}
}
