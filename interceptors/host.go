package interceptors

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
)

// HostConfig holds the host interceptor's properties.
type HostConfig struct {
	HostHeader       string `flume:"hostHeader" doc:"header that receives the host's address or name"`
	UseIP            bool   `flume:"useIP" doc:"use the IP address (true) or the canonical host name (false)"`
	PreserveExisting bool   `flume:"preserveExisting" doc:"keep a header that is already set"`
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindInterceptor,
		Name:      "host",
		Aliases:   []string{"org.apache.flume.interceptor.HostInterceptor$Builder"},
		Stability: sluice.Stable,
		Doc:       "Sets a header (host) to the IP address or the host name of the machine the agent runs on.",
		Notes: `As in Flume, the local host is resolved once, not per event: the machine's host name is
looked up and its first address (IPv4 preferred, as Java does) is used; with ` + "`useIP = false`" + `
that address is reverse-resolved to its canonical name (falling back to the address, as Java does).
The lookup happens when the agent starts (or on the first batch), not while ` + "`sluice check`" + `
builds the configuration. If the host name does not resolve, Flume and Sluice both log a warning
and set no header.`,
		Example: "a1.sources.r1.interceptors = i1\n" +
			"a1.sources.r1.interceptors.i1.type = host\n" +
			"a1.sources.r1.interceptors.i1.hostHeader = hostname\n" +
			"a1.sources.r1.interceptors.i1.useIP = false\n",
		Config: func() any { return &HostConfig{HostHeader: "host", UseIP: true} },
		New: func(env sluice.Env, cfg any) (any, error) {
			c := cfg.(*HostConfig)
			return &Host{header: c.HostHeader, useIP: c.UseIP, preserve: c.PreserveExisting,
				log: env.Logger, res: systemResolver}, nil
		},
	})
}

// resolver is the part of the system the host interceptor asks; tests
// replace it.
type resolver struct {
	hostname   func() (string, error)
	lookupHost func(ctx context.Context, host string) ([]string, error)
	lookupAddr func(ctx context.Context, addr string) ([]string, error)
}

var systemResolver = resolver{
	hostname:   os.Hostname,
	lookupHost: net.DefaultResolver.LookupHost,
	lookupAddr: net.DefaultResolver.LookupAddr,
}

// Host sets the local host's address or name.
type Host struct {
	header   string
	useIP    bool
	preserve bool
	log      *slog.Logger
	res      resolver

	once  sync.Once
	done  atomic.Bool // set after value is final
	value string      // "" when the host could not be resolved
}

// Start resolves the local host, so the first batch does not wait for DNS.
func (h *Host) Start(ctx context.Context) error {
	h.resolveOnce(ctx)
	return nil
}

// Stop does nothing: the interceptor holds no resources.
func (h *Host) Stop(context.Context) error { return nil }

func (h *Host) resolveOnce(ctx context.Context) {
	h.once.Do(func() {
		defer h.done.Store(true)
		v, err := h.resolve(ctx)
		if err != nil {
			if h.log != nil {
				h.log.Warn("host interceptor: could not resolve the local host; events get no header",
					"header", h.header, "error", err)
			}
			return
		}
		h.value = v
	})
}

// resolve mirrors Java's InetAddress.getLocalHost() followed by
// getHostAddress() or getCanonicalHostName().
func (h *Host) resolve(ctx context.Context) (string, error) {
	name, err := h.res.hostname()
	if err != nil {
		return "", fmt.Errorf("reading the host name: %w", err)
	}
	addrs, err := h.res.lookupHost(ctx, name)
	if err != nil {
		return "", fmt.Errorf("resolving host name %q: %w", name, err)
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("host name %q has no addresses", name)
	}
	ip := addrs[0]
	for _, a := range addrs {
		if p := net.ParseIP(a); p != nil && p.To4() != nil {
			ip = a
			break
		}
	}
	if h.useIP {
		return ip, nil
	}
	// Java returns the address itself when the reverse lookup fails or
	// the name found does not resolve back to the address.
	names, err := h.res.lookupAddr(ctx, ip)
	if err != nil || len(names) == 0 {
		return ip, nil
	}
	canon := strings.TrimSuffix(names[0], ".")
	back, err := h.res.lookupHost(ctx, canon)
	if err != nil {
		return ip, nil
	}
	for _, a := range back {
		if a == ip {
			return canon, nil
		}
	}
	return ip, nil
}

// Intercept sets the header on every event of the batch, in place.
func (h *Host) Intercept(events []*sluice.Event) []*sluice.Event {
	// Without Start (an agent that does not start interceptors),
	// resolve on first use.
	if !h.done.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h.resolveOnce(ctx)
		cancel()
	}
	if h.value == "" {
		return events
	}
	for _, e := range events {
		if h.preserve {
			if _, ok := e.Headers[h.header]; ok {
				continue
			}
		}
		e.SetHeader(h.header, h.value)
	}
	return events
}
