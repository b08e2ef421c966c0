// Package sdk turns a program into a Sluice plugin. A plugin's components
// are written exactly like built-in ones (docs/writing-a-component.md): a
// sluice.Spec with a typed config and a constructor, a sink implementing
// Deliver, an interceptor implementing Intercept. Serve registers them and
// answers the agent's gRPC calls:
//
//	func main() {
//		sdk.Serve(sluice.Spec{Kind: sluice.KindSink, Name: "redis", Factory: sluice.MakeFactory(defaults, New)})
//	}
//
// The agent decodes nothing itself: the plugin decodes and validates the
// properties (Configure) with the same tags and Validate method as a
// built-in config, and the agent shows the problems with file:line.
package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/gctune"
	pluginv1 "github.com/sluiceio/sluice/plugins/proto/sluice/plugin/v1"
	"github.com/sluiceio/sluice/plugins/wire"
)

// MaxMessage is the largest batch, in bytes, a call may carry.
const MaxMessage = math.MaxInt32

// Window is the gRPC flow-control window of a plugin connection (both
// ways): large enough for a whole batch, so none waits for window updates.
const Window = 16 << 20

// Serve registers specs and serves them to the agent until it stops the
// plugin; then it returns, and main should too. The environment variable
// SLUICE_PLUGIN_PROTOCOL (tests only) makes the plugin claim another
// protocol version.
func Serve(specs ...sluice.Spec) {
	for _, s := range specs {
		sluice.Register(s)
	}
	if err := sluice.RegistryErr(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The agent's collector pacing (GOGC or GOMEMLIMIT override it): a
	// small plugin heap would otherwise be collected for every few batches.
	gctune.Start(gctune.DefaultFloor, os.Getenv)
	versions := wire.Versions
	if v, err := strconv.Atoi(os.Getenv("SLUICE_PLUGIN_PROTOCOL")); err == nil {
		versions = []int{v}
	}
	// SLUICE_PLUGIN_CPUPROFILE=<file>: a CPU profile of the plugin's run,
	// written when the agent stops it (docs/plugins.md, debugging).
	if path := os.Getenv("SLUICE_PLUGIN_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	hs := wire.Handshake
	hs.ProtocolVersion = uint(versions[len(versions)-1])
	// The same servers speak every version: a request's batch field says
	// which form it came in (see plugin.proto), and the agent offers the
	// versions it speaks, of which go-plugin picks the newest.
	set := plugin.PluginSet{
		wire.Source:      &wire.SourcePlugin{Impl: &sourceServer{b: newBridge()}},
		wire.Sink:        &wire.SinkPlugin{Impl: &sinkServer{}},
		wire.Interceptor: &wire.InterceptorPlugin{Impl: &interceptorServer{}},
	}
	vp := map[int]plugin.PluginSet{}
	for _, v := range versions {
		vp[v] = set
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: vp,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage),
				grpc.InitialWindowSize(Window), grpc.InitialConnWindowSize(Window), experimental.BufferPool(wire.BufferPool), grpc.ForceServerCodecV2(wire.Codec))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	})
}

// Logger is the plugin's logger: it writes to stderr, which the agent
// copies into its own log with the plugin's name.
var Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

// component is the one component this process serves: the agent starts a
// process per configured component.
type component struct {
	mu   sync.Mutex
	spec *sluice.Spec
	impl any
}

func (c *component) configure(kind sluice.Kind, req *pluginv1.ConfigureRequest, more ...func(*sluice.Env)) (*pluginv1.ConfigureResponse, error) {
	spec, ok := sluice.Lookup(kind, req.Type)
	if !ok {
		return &pluginv1.ConfigureResponse{Errors: []*pluginv1.PropertyError{{
			Message: fmt.Sprintf("this plugin has no %s type %q (it has %v)", kind, req.Type, sluice.Names(kind))}}}, nil
	}
	resp := &pluginv1.ConfigureResponse{}
	var cfg any
	if spec.Config != nil {
		cfg = spec.Config()
		props := make([]conf.Prop, 0, len(req.Properties))
		for k, v := range req.Properties {
			props = append(props, conf.Prop{Key: k, FullKey: k, Value: v})
		}
		for _, e := range conf.Decode(cfg, props) {
			pe := &pluginv1.PropertyError{Key: e.Key, Message: e.Msg}
			if e.Warning {
				resp.Warnings = append(resp.Warnings, pe)
			} else {
				resp.Errors = append(resp.Errors, pe)
			}
		}
		if len(resp.Errors) > 0 {
			return resp, nil
		}
	}
	env := sluice.Env{Agent: req.Agent, Name: req.Name, Logger: Logger.With("component", req.Name),
		SinkCounters: &sluice.SinkCounters{}}
	for _, f := range more {
		f(&env)
	}
	impl, err := spec.New(env, cfg)
	if err != nil {
		for _, e := range conf.Position(err, nil) {
			resp.Errors = append(resp.Errors, &pluginv1.PropertyError{Key: e.Key, Message: e.Msg})
		}
		return resp, nil
	}
	if b, ok := impl.(sluice.Batcher); ok {
		resp.BatchSize = int32(b.BatchSize())
	}
	if !req.CheckOnly {
		c.mu.Lock()
		c.spec, c.impl = spec, impl
		c.mu.Unlock()
	}
	return resp, nil
}

func (c *component) get() (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.impl == nil {
		return nil, errors.New("not configured")
	}
	return c.impl, nil
}

func (c *component) start(ctx context.Context) error {
	impl, err := c.get()
	if err != nil {
		return err
	}
	if l, ok := impl.(sluice.Lifecycle); ok {
		return l.Start(ctx)
	}
	return nil
}

func (c *component) stop(ctx context.Context) error {
	impl, err := c.get()
	if err != nil {
		return nil
	}
	if l, ok := impl.(sluice.Lifecycle); ok {
		return l.Stop(ctx)
	}
	return nil
}

type sinkServer struct {
	pluginv1.UnimplementedSinkServer
	c component
}

func (s *sinkServer) Configure(_ context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return s.c.configure(sluice.KindSink, req)
}

func (s *sinkServer) Start(ctx context.Context, _ *pluginv1.StartRequest) (*pluginv1.StartResponse, error) {
	return &pluginv1.StartResponse{}, s.c.start(ctx)
}

func (s *sinkServer) Stop(ctx context.Context, _ *pluginv1.StopRequest) (*pluginv1.StopResponse, error) {
	return &pluginv1.StopResponse{}, s.c.stop(ctx)
}

// Deliver runs the sink's Deliver and turns its verdict into the reply.
func (s *sinkServer) Deliver(ctx context.Context, req *pluginv1.DeliverRequest) (*pluginv1.DeliverResponse, error) {
	impl, err := s.c.get()
	if err != nil {
		return nil, err
	}
	sink, ok := impl.(sluice.Sink)
	if !ok {
		return nil, fmt.Errorf("%T is not a sluice.Sink", impl)
	}
	events, err := requestEvents(req.Batch, req.Events, false)
	if err != nil {
		return nil, err
	}
	return Verdict(sink.Deliver(ctx, events)), nil
}

// requestEvents are a request's events, in either protocol version's
// form; see wire.DecodeBatch for emptyMaps.
func requestEvents(batch []byte, events []*pluginv1.Event, emptyMaps bool) ([]*sluice.Event, error) {
	if len(batch) == 0 {
		return wire.FromWire(events), nil
	}
	out, err := wire.DecodeBatch(batch, emptyMaps)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%v", err)
	}
	return out, nil
}

// Verdict is the reply to a Deliver that returned err.
func Verdict(err error) *pluginv1.DeliverResponse {
	if err == nil {
		return &pluginv1.DeliverResponse{}
	}
	resp := &pluginv1.DeliverResponse{Error: err.Error()}
	var de *sluice.DeliveryError
	switch {
	case errors.As(err, &de):
		for _, i := range de.Retry {
			resp.Retry = append(resp.Retry, int32(i))
		}
		for _, r := range de.Rejected {
			reason := "rejected"
			if r.Reason != nil {
				reason = r.Reason.Error()
			}
			resp.Rejected = append(resp.Rejected, &pluginv1.Rejection{Index: int32(r.Index), Reason: reason})
		}
		if de.Cause != nil {
			resp.Error = de.Cause.Error()
		}
	case sluice.IsPermanent(err):
		resp.Permanent = true
	}
	return resp
}

type interceptorServer struct {
	pluginv1.UnimplementedInterceptorServer
	c component
}

func (s *interceptorServer) Configure(_ context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return s.c.configure(sluice.KindInterceptor, req)
}

func (s *interceptorServer) Start(ctx context.Context, _ *pluginv1.StartRequest) (*pluginv1.StartResponse, error) {
	return &pluginv1.StartResponse{}, s.c.start(ctx)
}

func (s *interceptorServer) Stop(ctx context.Context, _ *pluginv1.StopRequest) (*pluginv1.StopResponse, error) {
	return &pluginv1.StopResponse{}, s.c.stop(ctx)
}

func (s *interceptorServer) Intercept(_ context.Context, req *pluginv1.InterceptRequest) (*pluginv1.InterceptResponse, error) {
	impl, err := s.c.get()
	if err != nil {
		return nil, err
	}
	ic, ok := impl.(sluice.Interceptor)
	if !ok {
		return nil, fmt.Errorf("%T is not a sluice.Interceptor", impl)
	}
	events, err := requestEvents(req.Batch, req.Events, true)
	if err != nil {
		return nil, err
	}
	out := ic.Intercept(events)
	if len(req.Batch) == 0 {
		return &pluginv1.InterceptResponse{Events: wire.ToWire(out)}, nil
	}
	// gRPC sends the reply after this returns: a buffer of its own, sized
	// at once.
	return &pluginv1.InterceptResponse{Batch: wire.AppendBatch(make([]byte, 0, wire.BatchSize(out)), out)}, nil
}
