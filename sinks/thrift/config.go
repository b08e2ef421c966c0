// Package thrift is Flume's thrift sink: it drains its channel in batches
// and sends each batch in one Thrift appendBatch call to a Flume or Sluice
// thrift source, committing only what the source acknowledged.
package thrift

import (
	"errors"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/internal/sinkconn"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Config is the thrift sink's configuration.
type Config struct {
	Hostname                string        `flume:"hostname" required:"true" doc:"host name or IP address of the thrift source"`
	Port                    int           `flume:"port" required:"true" doc:"port of the thrift source"`
	BatchSize               int           `flume:"batch-size" doc:"most events taken and sent in one appendBatch call (below 1: the default, as in Flume)"`
	ConnectTimeout          time.Duration `flume:"connect-timeout" unit:"ms" doc:"time allowed to connect and complete the TLS handshake; below 1000 ms the default is used"`
	RequestTimeout          time.Duration `flume:"request-timeout" unit:"ms" doc:"time allowed for one appendBatch call and its answer; below 1000 ms the default is used, as in Flume"`
	ResetConnectionInterval time.Duration `flume:"reset-connection-interval" alias:"connection-reset-interval" unit:"s" doc:"reconnect after the connection is this old, e.g. to follow a load balancer's DNS (0: never)"`
	Protocol                string        `flume:"protocol" doc:"compact or binary; must match the source's protocol"`

	tlsconf.ClientProps

	Kerberos        bool   `flume:"kerberos" doc:"Kerberos (SASL GSSAPI) authentication; not supported: true is a configuration error"`
	ClientPrincipal string `flume:"client-principal" doc:"Kerberos principal (not supported)"`
	ClientKeytab    string `flume:"client-keytab" doc:"Kerberos keytab (not supported)"`
	ServerPrincipal string `flume:"server-principal" doc:"Kerberos principal of the source (not supported)"`
	MaxConnections  int    `flume:"maxConnections" doc:"accepted and ignored: the sink uses one connection, as Flume's thrift sink does whatever this says"`
}

func defaults() *Config {
	return &Config{
		BatchSize:      sinkconn.DefaultBatchSize,
		ConnectTimeout: sinkconn.DefaultTimeout,
		RequestTimeout: sinkconn.DefaultTimeout,
		Protocol:       "compact",
		ClientProps:    tlsconf.DefaultClientProps(),
		MaxConnections: 5,
	}
}

// Validate checks ranges and refuses Kerberos. Out-of-range batch sizes and
// timeouts are not errors: Flume replaces them by its defaults, and so does
// New.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if strings.TrimSpace(c.Hostname) == "" {
		errs = append(errs, conf.Invalid("hostname", "is empty"))
	}
	if _, _, err := flumethrift.ParseProtocol(c.Protocol); err != nil {
		errs = append(errs, conf.Invalid("protocol", "%v", err))
	}
	if c.Kerberos {
		errs = append(errs, conf.Invalid("kerberos", "Kerberos (SASL GSSAPI) is not supported by Sluice's thrift sink; "+
			"use ssl, or keep a Flume agent for Kerberos sources"))
	}
	if c.ResetConnectionInterval < 0 {
		errs = append(errs, conf.Invalid("reset-connection-interval", "must not be negative"))
	}
	errs = append(errs, c.ClientProps.Validate())
	return errors.Join(errs...)
}

// normalized applies Flume's fallbacks and reports them.
func (c Config) normalized() (Config, []string) {
	notes := sinkconn.FlumeFallbacks(&c.BatchSize, &c.ConnectTimeout, &c.RequestTimeout)
	return c, notes
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "thrift",
		Aliases:   []string{"org.apache.flume.sink.ThriftSink"},
		Stability: sluice.Beta,
		Doc: "Sends events over Flume's Thrift RPC to a thrift source (Flume's or Sluice's): up to " +
			"`batch-size` events per transaction in one `appendBatch` call (framed transport, compact " +
			"or binary protocol), committed only when the source answers OK. Supports TLS like Flume.",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = thrift
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = collector.example.com
a1.sinks.k1.port = 4353
a1.sinks.k1.batch-size = 1000
a1.sinks.k1.protocol = compact
`

var notes = strings.TrimSpace(`
- Wire-compatible with Flume 1.11's thrift sink (ThriftRpcClient over libthrift 0.14): Thrift's
  framed transport with the compact (default) or binary protocol, plain or inside TLS. Both ends
  must use the same ` + "`protocol`" + `; as in Flume, only the lower-case ` + "`binary`" + ` selects the binary
  protocol (` + "`BINARY`" + ` means compact, with a warning).
- At-least-once as in Flume: one transaction per batch, committed only after the source
  answered OK. FAILED, ERROR, UNKNOWN, a Thrift exception, a timeout or a broken connection
  rolls the batch back, closes the connection and reports the error (the runner backs off); the
  next batch reconnects. Works in failover and load_balance sink groups.
- Sluice connects when it first has events to send; Flume connects at start. So an idle sink
  whose peer is down logs nothing and counts no ` + "`ConnectionFailedCount`" + `.
- ` + "`connect-timeout`" + ` bounds the connect and the TLS handshake (Flume's thrift client does not
  apply it, and waits on the operating system). ` + "`request-timeout`" + ` bounds each call as in
  Flume. Both, and ` + "`batch-size`" + `, fall back to Flume's defaults (20000, 20000, 100) when set too
  low, with a warning.
- ` + "`reset-connection-interval`" + ` (seconds; the spelling Flume's code reads, also accepted as
  ` + "`connection-reset-interval`" + `, the spelling of Flume's user guide) closes and reopens the
  connection before the first batch after the interval.
- TLS: as in Flume the server's certificate chain is verified against the trust store (or the
  system's CAs when none is set) but not its host name. ` + "`trust-all-certs`" + ` disables
  verification (Flume's thrift client reads it but ignores it). Trust stores may be JKS, PKCS12 or PEM (a Sluice extension); protocol and cipher
  suite lists and the ` + "`FLUME_SSL_TRUSTSTORE_*`" + ` environment variables work as for the avro sink.
- One batch is one Thrift frame: Flume's thrift source (libthrift 0.14) refuses frames above
  16,384,000 bytes, and so does Sluice's by default (` + "`max-frame-size`" + `), so keep ` + "`batch-size`" + `
  times the event size below that; a refused batch is rolled back and retried like any failure.
- Kerberos (` + "`kerberos = true`" + `) is not supported and is a configuration error.
  ` + "`maxConnections`" + ` is ignored: the sink holds one connection, as Flume's does.`)
