// Package avro is Flume's avro source: it serves Flume's Avro RPC protocol
// (AvroSourceProtocol: append and appendBatch), so Flume's avro sinks,
// avro-client and RPC clients, and Sluice's avro sink, can send to it.
package avro

import (
	"errors"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Config is the avro source's configuration.
type Config struct {
	Bind            string `flume:"bind" required:"true" doc:"host name or IP address to listen on"`
	Port            int    `flume:"port" required:"true" doc:"TCP port to listen on (0 picks a free port)"`
	Threads         int    `flume:"threads" doc:"accepted for compatibility and ignored: every connection is served by its own goroutine"`
	CompressionType string `flume:"compression-type" doc:"none or deflate; must match the sender's compression-type"`

	tlsconf.ServerProps

	IPFilter      bool   `flume:"ipFilter" doc:"refuse or accept connections by the rules of ipFilterRules"`
	IPFilterRules string `flume:"ipFilterRules" doc:"comma-separated allow|deny:ip|name:<pattern> rules; the first match decides, no match accepts"`

	MaxFrameSize int           `flume:"max-frame-size" doc:"largest request accepted, in bytes (after decompression); larger ones close the connection"`
	IdleTimeout  time.Duration `flume:"idle-timeout" unit:"s" doc:"close a connection that sends no request for this long (0: never)"`
	ReadTimeout  time.Duration `flume:"read-timeout" unit:"s" doc:"close a connection that stops sending in the middle of a request (or TLS handshake) for this long"`

	MaxBytesInFlight int64 `flume:"max-bytes-in-flight" doc:"bytes all connections together may hold for requests being read and decoded (after decompression); past it a request waits up to read-timeout for room, then its connection is closed. 0: a quarter of GOMEMLIMIT when set, else 256 MiB"`
}

func defaults() *Config {
	return &Config{
		CompressionType: "none",
		ServerProps:     tlsconf.DefaultServerProps(),
		MaxFrameSize:    avroipc.DefaultMaxFrameSize,
		IdleTimeout:     10 * time.Minute,
		ReadTimeout:     30 * time.Second,
	}
}

// Validate checks ranges and the rule syntax.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if _, err := compression(c.CompressionType); err != nil {
		errs = append(errs, conf.Invalid("compression-type", "%v", err))
	}
	errs = append(errs, c.ServerProps.Validate())
	if c.IPFilter {
		if _, err := parseRules(c.IPFilterRules); err != nil {
			errs = append(errs, conf.Invalid("ipFilterRules", "%v", err))
		}
	}
	if c.MaxBytesInFlight < 0 {
		errs = append(errs, conf.Invalid("max-bytes-in-flight", "\"%d\" must not be negative", c.MaxBytesInFlight))
	}
	if c.MaxFrameSize < 1024 {
		errs = append(errs, conf.Invalid("max-frame-size", "\"%d\" must be at least 1024", c.MaxFrameSize))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, conf.Invalid("read-timeout", "must be more than 0"))
	}
	return errors.Join(errs...)
}

// compression reads compression-type: true for deflate.
func compression(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "":
		return false, nil
	case "deflate":
		return true, nil
	}
	return false, errors.New("\"" + s + "\" is not none or deflate")
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "avro",
		Aliases:   []string{"org.apache.flume.source.AvroSource"},
		Stability: sluice.Beta,
		Doc: "Receives events over Flume's Avro RPC (`append` and `appendBatch`), from Flume's or " +
			"Sluice's avro sink, `flume-ng avro-client`, `sluice avro-client` or any Flume RPC client. " +
			"A batch is acknowledged OK only once the channels committed it; otherwise the sender gets " +
			"FAILED and retries. Supports deflate compression, TLS and IP filtering like Flume. " +
			"See the [Avro RPC guide](../avro.md).",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sources = r1
a1.channels = c1
a1.sources.r1.type = avro
a1.sources.r1.bind = 0.0.0.0
a1.sources.r1.port = 4141
a1.sources.r1.compression-type = deflate
a1.sources.r1.ipFilter = true
a1.sources.r1.ipFilterRules = allow:ip:10.*,allow:name:localhost,deny:ip:*
a1.sources.r1.channels = c1
`

var notes = strings.TrimSpace(`
- Wire-compatible with Flume 1.11 (Avro 1.11.0 IPC over Netty): same framing, handshake and
  protocol hash, so a Flume avro sink completes the handshake at once. A client that speaks
  another revision of the protocol (another hash) is handled as Avro's Java server does: it is
  asked for its protocol text, which must describe the same messages in the same binary layout.
- ` + "`appendBatch`" + ` answers OK only after every required channel committed the batch, and
  FAILED (so the sender rolls back and retries) on any channel error. Flume answers a failed
  ` + "`append`" + ` the same way.
- Bad input is never fatal to the source: a request that is not a valid frame, claims more than
  ` + "`max-frame-size`" + ` bytes, is truncated, or fails the handshake is logged with the peer's
  address and what was wrong, answered with an Avro error where possible, and that connection is
  closed. Flume closes the connection only on framing errors and keeps it open after answering a
  malformed call with an error.
- Sluice additions: ` + "`max-frame-size`" + ` (64 MiB; Flume only refuses a frame whose buffer list alone
  would take 10 % of its heap), ` + "`read-timeout`" + ` (a peer that stalls inside a request or the
  TLS handshake is dropped) and ` + "`idle-timeout`" + ` (a connection silent for 10 minutes is closed; Flume
  keeps them forever. Flume's sinks reconnect on their next batch by themselves). A request may
  carry at most max-frame-size/32 events and headers together.
- ` + "`threads`" + ` is accepted and ignored (Flume ignores it too). Each connection is served by one
  goroutine, which answers pipelined requests in order; Flume answers them on a pool of 16
  threads, possibly out of order, matched by serial number.
- ` + "`OpenConnectionCount`" + ` is exact at all times (Flume refreshes it once a minute).
- ` + "`compression-type`" + ` must be none or deflate (Flume treats any other value as none). Incoming
  compressed data is bounded by ` + "`max-frame-size`" + ` after decompression.
- ` + "`max-bytes-in-flight`" + ` (Sluice): one budget for the bytes all connections hold for requests
  still being read and decoded, counted as each frame's buffer grows (after decompression, so a
  small deflate bomb counts at its inflated size; a buffer growing is counted twice while it is
  copied, so a frame needs up to 1.5 × its size). Past the budget a request waits up to
  ` + "`read-timeout`" + ` for room and is then refused (connection closed, one log line per 10 s); a
  request larger than the whole budget is refused at once. Default: a quarter of GOMEMLIMIT when
  set, else 256 MiB. Without it, ten connections stalling in 57 MB frames held 550-690 MB.
- TLS: key stores may be JKS, PKCS12 (read whatever the type says, as Java 17 does) or PEM, a
  Sluice extension: one file with the certificate chain (leaf first) and an unencrypted private
  key; the password is then ignored. JKS and PKCS12 keys must be protected by the store
  password, as in Flume. Protocols are those Java 17 enables (TLSv1.2, TLSv1.3), narrowed by the
  include and exclude lists; unknown protocol names are a configuration error. Cipher suite
  lists apply to TLS 1.2 suites; Go cannot disable single TLS 1.3 suites (excluding all three
  disables TLS 1.3), and suites Go does not implement are ignored with a warning. The
  ` + "`FLUME_SSL_*`" + ` environment variables and the ` + "`-Djavax.net.ssl.*`" + ` / ` + "`-Dflume.ssl.*`" + `
  options of the command line (which win over the variables) are honoured as in Flume.
- ` + "`ipFilterRules`" + ` follow Flume: ` + "`allow|deny:ip|name:<pattern>`" + `, comma-separated, first match
  wins, no match accepts; ` + "`*`" + ` and ` + "`?`" + ` are wildcards. Name rules use reverse DNS, looked up
  only when a name rule is reached; ` + "`name:localhost`" + ` matches 127.0.0.1 and this host's
  addresses (and ::1). IPv6 peers match in both the short and Java's long form.`)
