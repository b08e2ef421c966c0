// Package wire holds what the agent and a Go plugin share: the go-plugin
// handshake and the gRPC glue of the services in
// plugins/proto/sluice/plugin/v1/plugin.proto.
package wire

import (
	"context"

	"github.com/sluiceio/sluice"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
)

// ProtocolVersion is the newest version of plugin.proto this build
// speaks; Versions are all it speaks. A change that old plugins cannot
// follow bumps it; the handshake refuses a plugin of a version not in
// Versions, naming it and these.
const ProtocolVersion = 2

// Versions are the protocol versions the agent offers and the SDK serves:
// 1 (a batch as repeated Event messages) and 2 (a batch as one framed
// bytes field, AppendBatch).
var Versions = []int{1, 2}

// Handshake is go-plugin's handshake: the cookie only tells a plugin binary
// run by hand that it is meant to be started by an agent.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SLUICE_PLUGIN",
	MagicCookieValue: "a6b1a3d0-sluice-plugin",
}

// BufferPool is the gRPC buffer pool of plugin connections, both sides.
// gRPC's default pool serves anything over 32 KiB from 1 MiB buffers and
// clears the whole buffer on every use, so each batch of some 100 KiB
// cleared a mebibyte on both sides (a fifth of the agent's CPU in the Redis
// sink benchmark). Tiers doubling up to 64 MiB clear at most twice the
// message.
var BufferPool = func() mem.BufferPool {
	sizes := []int{256, 4 << 10, 16 << 10}
	for s := 32 << 10; s <= 64<<20; s *= 2 {
		sizes = append(sizes, s)
	}
	return mem.NewTieredBufferPool(sizes...)
}()

// Names of the services in a plugin set, as the host dispenses them.
const (
	Source      = "source"
	Sink        = "sink"
	Interceptor = "interceptor"
)

// SinkPlugin serves (Impl set) or dispenses a pluginv1.SinkClient.
type SinkPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.SinkServer
}

// GRPCServer registers the implementation.
func (p *SinkPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterSinkServer(s, p.Impl)
	return nil
}

// GRPCClient returns the client the host calls.
func (p *SinkPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewSinkClient(c), nil
}

// InterceptorPlugin serves (Impl set) or dispenses a
// pluginv1.InterceptorClient.
type InterceptorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.InterceptorServer
}

// GRPCServer registers the implementation.
func (p *InterceptorPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterInterceptorServer(s, p.Impl)
	return nil
}

// GRPCClient returns the client the host calls.
func (p *InterceptorPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewInterceptorClient(c), nil
}

// SourcePlugin serves (Impl set) or dispenses a pluginv1.SourceClient.
type SourcePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.SourceServer
}

// GRPCServer registers the implementation.
func (p *SourcePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterSourceServer(s, p.Impl)
	return nil
}

// GRPCClient returns the client the host calls.
func (p *SourcePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewSourceClient(c), nil
}

// Plugins is the host's plugin set (nothing to serve).
func Plugins() plugin.PluginSet {
	return plugin.PluginSet{Source: &SourcePlugin{}, Sink: &SinkPlugin{}, Interceptor: &InterceptorPlugin{}}
}

// FromWire converts events off the wire.
func FromWire(in []*pluginv1.Event) []*sluice.Event {
	out := make([]*sluice.Event, len(in))
	for i, e := range in {
		h := e.Headers
		if h == nil {
			h = map[string]string{}
		}
		out[i] = &sluice.Event{Headers: h, Body: e.Body}
	}
	return out
}

// ToWire converts events for the wire.
func ToWire(in []*sluice.Event) []*pluginv1.Event {
	out := make([]*pluginv1.Event, len(in))
	for i, e := range in {
		out[i] = &pluginv1.Event{Headers: e.Headers, Body: e.Body}
	}
	return out
}
