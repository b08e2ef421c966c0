// Package avro is Flume's avro sink: it drains its channel in batches and
// sends each batch in one Avro RPC appendBatch call to a Flume or Sluice
// avro source, committing only what the source acknowledged.
package avro

import (
	"errors"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/sinkconn"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Config is the avro sink's configuration.
type Config struct {
	Hostname                string        `flume:"hostname" required:"true" doc:"host name or IP address of the avro source"`
	Port                    int           `flume:"port" required:"true" doc:"port of the avro source"`
	BatchSize               int           `flume:"batch-size" doc:"most events taken and sent in one appendBatch call (below 1: the default, as in Flume)"`
	ConnectTimeout          time.Duration `flume:"connect-timeout" unit:"ms" doc:"time allowed to connect (and TLS handshake) and to send a request; below 1000 ms the default is used, as in Flume"`
	RequestTimeout          time.Duration `flume:"request-timeout" unit:"ms" doc:"time allowed for the source's answer to a batch; below 1000 ms the default is used, as in Flume"`
	ResetConnectionInterval time.Duration `flume:"reset-connection-interval" unit:"s" doc:"reconnect after the connection is this old, e.g. to follow a load balancer's DNS (0: never)"`
	CompressionType         string        `flume:"compression-type" doc:"none or deflate; must match the source's compression-type"`
	CompressionLevel        int           `flume:"compression-level" doc:"deflate level, 0 (none) to 9 (best)"`

	tlsconf.ClientProps

	MaxIoWorkers int `flume:"maxIoWorkers" doc:"accepted and ignored, as in Flume 1.11"`
}

func defaults() *Config {
	return &Config{
		BatchSize:        sinkconn.DefaultBatchSize,
		ConnectTimeout:   sinkconn.DefaultTimeout,
		RequestTimeout:   sinkconn.DefaultTimeout,
		CompressionType:  "none",
		CompressionLevel: 6,
		ClientProps:      tlsconf.DefaultClientProps(),
	}
}

// Validate checks ranges. Out-of-range batch sizes and timeouts are not
// errors: Flume replaces them by its defaults, and so does New.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if strings.TrimSpace(c.Hostname) == "" {
		errs = append(errs, conf.Invalid("hostname", "is empty"))
	}
	deflate, err := compression(c.CompressionType)
	if err != nil {
		errs = append(errs, conf.Invalid("compression-type", "%v", err))
	}
	if deflate && (c.CompressionLevel < -1 || c.CompressionLevel > 9) {
		errs = append(errs, conf.Invalid("compression-level", "\"%d\" is not a deflate level (0-9)", c.CompressionLevel))
	}
	errs = append(errs, c.ClientProps.Validate())
	return errors.Join(errs...)
}

func compression(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "":
		return false, nil
	case "deflate":
		return true, nil
	}
	return false, errors.New("\"" + s + "\" is not none or deflate")
}

// normalized applies Flume's fallbacks and reports them.
func (c Config) normalized() (Config, []string) {
	notes := sinkconn.FlumeFallbacks(&c.BatchSize, &c.ConnectTimeout, &c.RequestTimeout)
	return c, notes
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "avro",
		Aliases:   []string{"org.apache.flume.sink.AvroSink"},
		Stability: sluice.Beta,
		Doc: "Sends events over Flume's Avro RPC to an avro source (Flume's or Sluice's): up to " +
			"`batch-size` events per transaction in one `appendBatch` call, committed only when the " +
			"source answers OK. Supports deflate compression and TLS like Flume. " +
			"See the [Avro RPC guide](../avro.md).",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = avro
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = collector.example.com
a1.sinks.k1.port = 4141
a1.sinks.k1.batch-size = 1000
a1.sinks.k1.compression-type = deflate
`

var notes = strings.TrimSpace(`
- Wire-compatible with Flume 1.11's avro sink (NettyAvroRpcClient over Avro 1.11.0 IPC): same
  framing, handshake and protocol hash. Against a source that speaks another revision of the
  protocol, the handshake falls back as Avro's Java client does (it sends its protocol text).
- At-least-once as in Flume: one transaction per batch, committed only after the source
  answered OK. FAILED, UNKNOWN, an error reply, a timeout or a broken connection rolls the batch
  back, closes the connection and reports the error (the runner backs off); the next call
  reconnects.
- Sluice connects when it first has events to send; Flume connects at start and checks the
  connection on every process call, even with an empty channel. So an idle sink whose peer is down logs nothing and
  counts no ` + "`ConnectionFailedCount`" + `.
- ` + "`reset-connection-interval`" + ` (seconds) closes and reopens the connection before the first batch
  after the interval, like Flume's one-shot reset timer.
- ` + "`batch-size`" + `, ` + "`connect-timeout`" + ` and ` + "`request-timeout`" + ` fall back to Flume's defaults (100, 20000,
  20000) when set too low, with a warning. Each batch is one frame of one buffer; Flume splits
  frames into 8 KiB buffers, which the protocol treats alike.
- TLS: as in Flume the server's certificate chain is verified against the trust store (or the
  system's CAs when none is set) but not its host name, and ` + "`trust-all-certs`" + ` disables
  verification. Trust stores may be JKS (readable without a password, as in Java), PKCS12 or
  PEM, a Sluice extension. Protocol and cipher suite lists work as for the avro source. The
  ` + "`FLUME_SSL_TRUSTSTORE_*`" + ` environment variables are honoured.
- Compression and TLS are layered as in Flume (TLS inside the zlib stream), so either side can be
  Flume.
- ` + "`maxIoWorkers`" + ` is ignored (Flume 1.11 ignores it too). Other Flume RPC client keys
  (` + "`client.type`" + `, ` + "`hosts`" + `, ` + "`max-attempts`" + `...) are not supported in the sink; use a sink group
  for failover or load balancing.`)
