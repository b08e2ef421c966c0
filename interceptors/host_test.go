package interceptors

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

type fakeDNS struct {
	hostname string
	forward  map[string][]string
	reverse  map[string][]string
	lookups  int
}

func (f *fakeDNS) resolver() resolver {
	return resolver{
		hostname: func() (string, error) {
			if f.hostname == "" {
				return "", errors.New("no hostname")
			}
			return f.hostname, nil
		},
		lookupHost: func(_ context.Context, h string) ([]string, error) {
			f.lookups++
			if a, ok := f.forward[h]; ok {
				return a, nil
			}
			return nil, errors.New("no such host")
		},
		lookupAddr: func(_ context.Context, a string) ([]string, error) {
			if n, ok := f.reverse[a]; ok {
				return n, nil
			}
			return nil, errors.New("no PTR record")
		},
	}
}

func newHost(t *testing.T, dns *fakeDNS, kv ...string) *Host {
	t.Helper()
	h := build(t, "host", kv...).(*Host)
	h.res = dns.resolver()
	return h
}

func TestHost(t *testing.T) {
	dns := &fakeDNS{
		hostname: "web1",
		forward: map[string][]string{
			"web1":             {"fe80::1", "10.0.0.7", "10.0.0.8"},
			"web1.example.com": {"10.0.0.7"},
			"liar.example.com": {"10.9.9.9"},
			"web2":             {"10.0.0.9"},
			"web3":             {"10.0.0.10"},
		},
		reverse: map[string][]string{"10.0.0.7": {"web1.example.com."}, "10.0.0.9": {"liar.example.com."}},
	}
	cases := []struct {
		name     string
		hostname string
		kv       []string
		in       *sluice.Event
		want     string
	}{
		{"useIP prefers IPv4, as Java", "web1", nil, ev("x"), "host=10.0.0.7"},
		{"overwrites by default", "web1", nil, ev("x", "host", "old"), "host=10.0.0.7"},
		{"preserveExisting", "web1", []string{"preserveExisting", "true"}, ev("x", "host", "old"), "host=old"},
		{"canonical name", "web1", []string{"useIP", "false", "hostHeader", "hostname"}, ev("x"), "hostname=web1.example.com"},
		{"canonical name that does not resolve back", "web2", []string{"useIP", "false"}, ev("x"), "host=10.0.0.9"},
		{"no reverse record", "web3", []string{"useIP", "false"}, ev("x"), "host=10.0.0.10"},
		{"unresolvable host: no header", "nowhere", nil, ev("x", "a", "b"), "a=b"},
	}
	for _, c := range cases {
		dns.hostname = c.hostname
		h := newHost(t, dns, c.kv...)
		out := h.Intercept([]*sluice.Event{c.in})
		if got := headersString(out[0].Headers); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestHostResolvesOnceAtStart(t *testing.T) {
	dns := &fakeDNS{hostname: "web1", forward: map[string][]string{"web1": {"10.0.0.7"}}}
	h := newHost(t, dns)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dns.lookups != 1 {
		t.Fatalf("Start made %d lookups, want 1", dns.lookups)
	}
	for range 3 {
		h.Intercept([]*sluice.Event{ev("x")})
	}
	if dns.lookups != 1 {
		t.Fatalf("lookups after three batches: %d, want 1", dns.lookups)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHostWarnsWhenUnresolvable(t *testing.T) {
	var lb logBuffer
	spec, cfg, _ := decode(t, "org.apache.flume.interceptor.HostInterceptor$Builder")
	h := newFrom(t, spec, cfg, envWithLog(&lb)).(*Host)
	h.res = (&fakeDNS{hostname: "ghost"}).resolver()
	h.Intercept([]*sluice.Event{ev("x")})
	if !strings.Contains(lb.String(), "could not resolve the local host") || !strings.Contains(lb.String(), "ghost") {
		t.Fatalf("log: %q", lb.String())
	}
}

func TestHostRealResolver(t *testing.T) {
	// The system resolver, end to end: whatever the machine says, the
	// header must be an address (or absent if the name does not resolve).
	h := build(t, "host").(*Host)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := ev("x")
	h.Intercept([]*sluice.Event{e})
	if v, ok := e.Headers["host"]; ok && net.ParseIP(v) == nil {
		t.Fatalf("host header %q is not an IP address", v)
	}
}
