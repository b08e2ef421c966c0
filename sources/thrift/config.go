// Package thrift is Flume's thrift source: it serves Flume's Thrift RPC
// (ThriftSourceProtocol: append and appendBatch) over the framed transport,
// so Flume's thrift sinks and RPC clients, Thrift clients in other
// languages, and Sluice's thrift sink can send to it.
package thrift

import (
	"errors"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Config is the thrift source's configuration.
type Config struct {
	Bind     string `flume:"bind" required:"true" doc:"host name or IP address to listen on"`
	Port     int    `flume:"port" required:"true" doc:"TCP port to listen on (0 picks a free port)"`
	Threads  int    `flume:"threads" doc:"most requests handed to the channels at once (0: no limit); further requests wait"`
	Protocol string `flume:"protocol" doc:"compact or binary; must match the sender's protocol"`

	tlsconf.ServerProps

	Kerberos       bool   `flume:"kerberos" doc:"Kerberos (SASL GSSAPI) authentication; not supported: true is a configuration error"`
	AgentPrincipal string `flume:"agent-principal" doc:"Kerberos principal (not supported)"`
	AgentKeytab    string `flume:"agent-keytab" doc:"Kerberos keytab (not supported)"`

	// Flume's thrift source has no ipFilter; one set here is named in a
	// warning rather than taken silently for a filter that works.
	IPFilter      bool   `flume:"ipFilter" doc:"not in Flume's thrift source nor in Sluice's: accepted with a warning, and every address is still accepted (the avro source has ipFilter)"`
	IPFilterRules string `flume:"ipFilterRules" doc:"accepted with a warning and ignored (see ipFilter)"`

	MaxFrameSize int           `flume:"max-frame-size" doc:"largest request accepted, in bytes; a frame claiming more closes the connection"`
	IdleTimeout  time.Duration `flume:"idle-timeout" unit:"s" doc:"close a connection that sends no request for this long (0: never)"`
	ReadTimeout  time.Duration `flume:"read-timeout" unit:"s" doc:"close a connection that stops sending in the middle of a request (or TLS handshake) for this long"`

	MaxBytesInFlight int64 `flume:"max-bytes-in-flight" doc:"bytes all connections together may hold for requests being read and decoded; past it a request waits up to read-timeout for room, then its connection is closed. 0: a quarter of GOMEMLIMIT when set, else 256 MiB"`
}

func defaults() *Config {
	return &Config{
		Protocol:     "compact",
		ServerProps:  tlsconf.DefaultServerProps(),
		MaxFrameSize: flumethrift.DefaultMaxFrameSize,
		IdleTimeout:  10 * time.Minute,
		ReadTimeout:  30 * time.Second,
	}
}

// Validate checks ranges and refuses Kerberos.
// Warnings name the settings that are accepted but do nothing.
func (c *Config) Warnings() []error {
	if c.IPFilter || strings.TrimSpace(c.IPFilterRules) != "" {
		return []error{conf.Invalid("ipFilter", "the thrift source has no IP filter (Flume's neither): every address may connect; "+
			"use the avro source's ipFilterRules, a firewall, or bind to a trusted interface")}
	}
	return nil
}

func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if c.Threads < 0 {
		errs = append(errs, conf.Invalid("threads", "\"%d\" is negative", c.Threads))
	}
	if _, _, err := flumethrift.ParseProtocol(c.Protocol); err != nil {
		errs = append(errs, conf.Invalid("protocol", "%v", err))
	}
	if c.Kerberos {
		errs = append(errs, conf.Invalid("kerberos", "Kerberos (SASL GSSAPI) is not supported by Sluice's thrift source; "+
			"use ssl, or keep a Flume agent for Kerberos clients"))
	}
	errs = append(errs, c.ServerProps.Validate())
	if c.MaxFrameSize < 1024 {
		errs = append(errs, conf.Invalid("max-frame-size", "\"%d\" must be at least 1024", c.MaxFrameSize))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, conf.Invalid("idle-timeout", "must not be negative"))
	}
	if c.MaxBytesInFlight < 0 {
		errs = append(errs, conf.Invalid("max-bytes-in-flight", "\"%d\" must not be negative", c.MaxBytesInFlight))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, conf.Invalid("read-timeout", "must be more than 0"))
	}
	return errors.Join(errs...)
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "thrift",
		Aliases:   []string{"org.apache.flume.source.ThriftSource"},
		Stability: sluice.Beta,
		Doc: "Receives events over Flume's Thrift RPC (`append` and `appendBatch` of " +
			"ThriftSourceProtocol, framed transport, compact or binary protocol), from Flume's or " +
			"Sluice's thrift sink, Flume's thrift RPC client or any Thrift client generated from " +
			"Flume's IDL. A batch is answered OK only once the channels committed it; otherwise " +
			"the sender gets FAILED and retries. Supports TLS like Flume.",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sources = r1
a1.channels = c1
a1.sources.r1.type = thrift
a1.sources.r1.bind = 0.0.0.0
a1.sources.r1.port = 4353
a1.sources.r1.protocol = compact
a1.sources.r1.channels = c1
`

var notes = strings.TrimSpace(`
- Wire-compatible with Flume 1.11 (libthrift 0.14): Thrift's framed transport (a 4-byte length
  before each message) with the compact or binary protocol, plain or inside TLS, as Flume's
  source serves it with and without ` + "`ssl`" + `. Both ends must use the same ` + "`protocol`" + `.
- ` + "`protocol`" + ` is read as Flume reads it: ` + "`compact`" + ` or ` + "`binary`" + ` in any case, but only the
  lower-case ` + "`binary`" + ` selects the binary protocol; another spelling (` + "`BINARY`" + `) means compact,
  as in Flume, with a warning. Other values are a configuration error.
- ` + "`append`" + ` and ` + "`appendBatch`" + ` answer OK only after every required channel committed the
  events, and FAILED (so the sender retries) on any channel error, as Flume does. The source
  counters (AppendReceived/Accepted, AppendBatchReceived/Accepted, EventReceived/Accepted,
  ChannelWriteFail) move as in Flume.
- Bad input is never fatal to the source: a frame that claims more than ` + "`max-frame-size`" + `
  bytes (16,384,000 by default, libthrift's limit in Flume), is truncated, or does not decode as a
  call of Flume's service is logged once with the peer's address and what was wrong, answered
  with a Thrift exception where the call could be identified, and that connection is closed.
  Nothing is allocated for a frame's claimed size before its bytes arrive, and a list or map may
  not claim more elements than the frame has bytes left.
- Sluice additions: ` + "`max-frame-size`" + `, ` + "`read-timeout`" + ` (a peer that stalls inside a request or the
  TLS handshake is dropped; Flume's TLS server drops a peer silent for 120 s) and
  ` + "`idle-timeout`" + ` (a connection silent for 10 minutes is closed; Flume's plain server keeps it).
  Flume's and Sluice's sinks reconnect by themselves.
- ` + "`max-bytes-in-flight`" + ` (Sluice): one budget for the bytes all connections hold for frames still
  being read and decoded, counted as each frame's buffer grows (a growing buffer counts twice while
  it is copied). Past the budget a request waits up to ` + "`read-timeout`" + ` for room and is then
  refused (connection closed, one log line per 10 s, counted in EventReadFail); a frame claiming
  more than the whole budget is refused at once. Default: a quarter of GOMEMLIMIT when set, else
  256 MiB, as for the avro source.
- ` + "`threads`" + ` caps the requests handed to the channels at once (0, the default: no cap), as
  Flume's worker pool does without TLS; each connection is one goroutine answering its calls in
  order, and every connection is accepted.
- ` + "`OpenConnectionCount`" + ` is exact at all times.
- TLS uses the key store properties of the avro source (JKS, PKCS12 or PEM; protocol and cipher
  suite lists; the ` + "`FLUME_SSL_*`" + ` environment variables).
- Kerberos (` + "`kerberos = true`" + `, SASL GSSAPI) is not supported and is a configuration error;
  ` + "`agent-principal`" + ` and ` + "`agent-keytab`" + ` are accepted and ignored otherwise.`)
