// Package http is Flume's HTTP source: a REST collector that takes batches
// of events in POST (or GET) requests and answers 200 only once every
// required channel committed them.
package http

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Handler names: Flume's classes and Sluice's short names.
const (
	handlerJSON      = "org.apache.flume.source.http.JSONHandler"
	handlerBlob      = "org.apache.flume.sink.solr.morphline.BlobHandler"
	handlerBLOB      = "org.apache.flume.source.http.BLOBHandler"
	handlerNDJSON    = "ndjson"
	defaultMaxBlob   = 100 * 1000 * 1000 // Flume's BlobHandler default
	defaultMaxBody   = 16 << 20
	defaultMaxConns  = 256
	defaultHdrTimout = 10 * time.Second
)

// handlerKinds maps every accepted handler value to the handler it names.
var handlerKinds = map[string]string{
	handlerJSON: "json", "json": "json",
	handlerBlob: "blob", "blob": "blob",
	handlerBLOB:   "BLOB",
	handlerNDJSON: "ndjson",
}

// Config is the HTTP source's configuration.
type Config struct {
	Bind         string            `flume:"bind" doc:"host name or IP address to listen on"`
	Port         int               `flume:"port" required:"true" doc:"TCP port to listen on (0 picks a free port)"`
	Handler      string            `flume:"handler" doc:"how a request becomes events: org.apache.flume.source.http.JSONHandler (or json), org.apache.flume.sink.solr.morphline.BlobHandler (or blob), org.apache.flume.source.http.BLOBHandler, or ndjson (a Sluice extension)"`
	HandlerProps map[string]string `flume:"handler.*" doc:"the handler's properties: handler.maxBlobLength (blob handlers), handler.mandatoryParameters (BLOBHandler)"`

	tlsconf.ServerProps
	// Flume's HTTP source still reads these older spellings when the new
	// property is not set.
	EnableSSL           bool     `flume:"enableSSL" doc:"deprecated spelling of ssl"`
	OldKeystorePassword string   `flume:"keystorePassword" doc:"deprecated spelling of keystore-password"`
	OldExcludeProtocols []string `flume:"excludeProtocols" doc:"deprecated spelling of exclude-protocols"`
	CertFile            string   `flume:"ssl.certFile" doc:"Sluice extension: PEM file with the server's certificate chain, used with ssl.keyFile instead of a key store"`
	KeyFile             string   `flume:"ssl.keyFile" doc:"Sluice extension: PEM file with the unencrypted private key of ssl.certFile"`

	MaxBodySize       int64         `flume:"max-body-size" doc:"Sluice extension: largest request body accepted, in bytes; a larger one is answered 413"`
	MaxConnections    int           `flume:"max-connections" doc:"Sluice extension: most connections served at once; past it the connection idle longest is closed for a new client, which waits only while all are busy with requests"`
	ReadHeaderTimeout time.Duration `flume:"read-header-timeout" unit:"ms" doc:"Sluice extension: longest time a client may take to send a request's headers"`
	ReadTimeout       time.Duration `flume:"read-timeout" unit:"ms" doc:"Sluice extension: longest time a client may send nothing while its request body is due; the request is then dropped with what it sent"`
	IdleTimeout       time.Duration `flume:"idle-timeout" unit:"ms" doc:"Sluice extension: a keep-alive connection with no new request for this long is closed"`
	MaxBytesInFlight  int64         `flume:"max-bytes-in-flight" doc:"Sluice extension: bytes all requests together may hold for bodies being read and decoded; past it a request waits up to read-timeout for room, then is answered 503. 0: a quarter of GOMEMLIMIT when set, else 256 MiB"`

	// Jetty's bean properties have no meaning here; they are accepted so
	// Flume files load, and named in a warning at start.
	QueuedThreadPool  map[string]string `flume:"QueuedThreadPool.*" doc:"Jetty thread pool settings: accepted and ignored (see max-connections)"`
	HTTPConfiguration map[string]string `flume:"HttpConfiguration.*" doc:"Jetty HTTP settings: accepted and ignored"`
	SslContextFactory map[string]string `flume:"SslContextFactory.*" doc:"Jetty TLS settings: accepted and ignored"`
	ServerConnector   map[string]string `flume:"ServerConnector.*" doc:"Jetty connector settings: accepted and ignored (see idle-timeout)"`
}

func defaults() *Config {
	return &Config{
		Bind:              "0.0.0.0",
		Handler:           handlerJSON,
		ServerProps:       tlsconf.DefaultServerProps(),
		MaxBodySize:       defaultMaxBody,
		MaxConnections:    defaultMaxConns,
		ReadHeaderTimeout: defaultHdrTimout,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

// handlerConfig is what the handler properties parse to.
type handlerConfig struct {
	kind      string   // json, ndjson, blob, BLOB
	maxBlob   int64    // blob handlers: the body limit
	mandatory []string // BLOBHandler: query parameters every request must carry
}

func (c *Config) handler() (handlerConfig, error) {
	h := handlerConfig{kind: handlerKinds[strings.TrimSpace(c.Handler)], maxBlob: defaultMaxBlob}
	if h.kind == "" {
		return h, conf.Invalid("handler", "%q is not a handler Sluice has (%s)", c.Handler, strings.Join(handlerNames(), ", "))
	}
	var errs []error
	for k, v := range c.HandlerProps {
		switch {
		case k == "maxBlobLength" && (h.kind == "blob" || h.kind == "BLOB"):
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil || n <= 0 {
				errs = append(errs, conf.Invalid("handler.maxBlobLength", "%q is not a number of bytes greater than 0", v))
			}
			h.maxBlob = n
		case k == "mandatoryParameters" && h.kind == "BLOB":
			for _, p := range strings.Split(v, ",") {
				// Flume splits "" into one empty name that no request
				// can carry; an empty list here means none.
				if p = strings.TrimSpace(p); p != "" {
					h.mandatory = append(h.mandatory, p)
				}
			}
		default:
			errs = append(errs, conf.Invalid("handler."+k, "not a property of handler %s", c.Handler))
		}
	}
	return h, errors.Join(errs...)
}

func handlerNames() []string {
	var n []string
	for k := range handlerKinds {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Validate checks ranges, the handler and the TLS settings.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Bind) == "" {
		errs = append(errs, conf.Invalid("bind", "must not be empty"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if _, err := c.handler(); err != nil {
		errs = append(errs, err)
	}
	sp := c.tls()
	if sp.SSL && (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, conf.Invalid("ssl.certFile", "ssl.certFile and ssl.keyFile go together: set both or neither"))
	}
	if !sp.SSL && (c.CertFile != "" || c.KeyFile != "") {
		errs = append(errs, conf.Invalid("ssl.certFile", "ssl.certFile and ssl.keyFile are used only when ssl is true"))
	}
	if c.CertFile != "" {
		sp.SSL = false // no key store needed; the lists are still checked
	}
	errs = append(errs, sp.Validate())
	if c.MaxBodySize < 1 {
		errs = append(errs, conf.Invalid("max-body-size", "\"%d\" must be at least 1", c.MaxBodySize))
	}
	if c.MaxBytesInFlight < 0 {
		errs = append(errs, conf.Invalid("max-bytes-in-flight", "\"%d\" must not be negative", c.MaxBytesInFlight))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, conf.Invalid("max-connections", "\"%d\" must be at least 1", c.MaxConnections))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout}, {"idle-timeout", c.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, conf.Invalid(d.key, "must be more than 0"))
		}
	}
	return errors.Join(errs...)
}

// tls is the SSL properties with Flume's older spellings applied where
// the current one is not set.
func (c *Config) tls() tlsconf.ServerProps {
	sp := c.ServerProps
	sp.SSL = sp.SSL || c.EnableSSL
	if sp.KeystorePassword == "" {
		sp.KeystorePassword = c.OldKeystorePassword
	}
	if len(c.OldExcludeProtocols) > 0 && slices.Equal(sp.ExcludeProtocols, tlsconf.DefaultServerProps().ExcludeProtocols) {
		sp.ExcludeProtocols = c.OldExcludeProtocols
	}
	return sp
}

// ignored lists the Jetty properties that were set, for the start warning.
func (c *Config) ignored() []string {
	var keys []string
	for prefix, m := range map[string]map[string]string{"QueuedThreadPool.": c.QueuedThreadPool,
		"HttpConfiguration.": c.HTTPConfiguration, "SslContextFactory.": c.SslContextFactory, "ServerConnector.": c.ServerConnector} {
		for k := range m {
			keys = append(keys, prefix+k)
		}
	}
	sort.Strings(keys)
	return keys
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "http",
		Aliases:   []string{"org.apache.flume.source.http.HTTPSource"},
		Stability: sluice.Beta,
		Doc: "A REST collector: takes events in HTTP POST (or GET) requests, one request one batch, " +
			"as Flume's HTTP source does. The default handler reads a JSON array of " +
			"`{\"headers\":{...},\"body\":\"...\"}`; the blob handlers make the whole body one event; " +
			"`ndjson` reads one JSON event per line. The client gets 200 only once every required " +
			"channel committed the batch, 503 when a channel refused it (retry later), 400 for a " +
			"malformed body (the message says what and where), 413 for a body over max-body-size. " +
			"See the [HTTP guide](../http.md).",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sources = r1
a1.channels = c1
a1.sources.r1.type = http
a1.sources.r1.bind = 0.0.0.0
a1.sources.r1.port = 8080
a1.sources.r1.handler = org.apache.flume.source.http.JSONHandler
a1.sources.r1.channels = c1
`

var notes = strings.TrimSpace(fmt.Sprintf(`
- Status codes as in Flume: **200** (empty body) once every required channel committed the
  batch; **400** for a body the handler cannot read, with a plain-text message naming the
  problem and where it is (the byte offset, the event's index or the line); **503** when a
  channel refused the batch (full, or any other channel error: Flume's ChannelException), with
  `+"`Retry-After: 1`"+`; **500** for a handler failure that is not the body's syntax: an
  unsupported charset or a missing mandatory parameter (as in Flume), or a failure inside the
  agent (a panicking interceptor). Any path is served, as Flume's servlet at `+"`/`"+` does.
- GET is handled exactly like POST, as in Flume. Every other method (HEAD, PUT, DELETE,
  OPTIONS, TRACE, ...) is answered **405** with `+"`Allow: GET, POST`"+`; Flume's servlet runs
  HEAD like GET, answers PUT/DELETE 405 and TRACE/OPTIONS 403.
- JSONHandler: the request's charset (the Content-Type `+"`charset`"+` parameter) must be UTF-8,
  UTF-16 or UTF-32 (default UTF-8), as in Flume, and each `+"`body`"+` string becomes bytes in that
  charset the way Java encodes it (UTF-16: a big-endian byte order mark, then big-endian;
  UTF-32: big-endian). Numbers and booleans given as header values or body are taken as their
  text, as Gson does; a null body is empty and a null header value is dropped. Sluice reads
  strict JSON: Gson's lenient extras (single quotes, unquoted names, comments) are a 400. An
  empty body or a top-level `+"`null`"+` is a 400 (Flume answers 500).
- `+"`ndjson`"+` (a Sluice extension) reads one `+"`{\"headers\":{...},\"body\":\"...\"}`"+` object
  per line (blank lines skipped, same charset rules); the whole request is still one batch,
  so it is all committed or all refused.
- BlobHandler (`+"`org.apache.flume.sink.solr.morphline.BlobHandler`"+`): the body is one event;
  the query parameters (first value of each) become headers, and the request's Content-Type the
  `+"`Content-Type`"+` header. A body longer than `+"`handler.maxBlobLength`"+` (default %d) is refused
  with 413, where Flume cuts it short and keeps the truncated event. Form-encoded bodies are
  kept as the body, not read as parameters. BLOBHandler (`+"`org.apache.flume.source.http.BLOBHandler`"+`)
  is the same without the Content-Type header and with `+"`handler.mandatoryParameters`"+`
  (comma-separated query parameters every request must carry, else 500 as in Flume; an empty
  list means none, where Flume's default requires a parameter with an empty name).
- Limits Flume lacks (Sluice extensions), each a property: `+"`max-body-size`"+` (%d MiB; 413 beyond,
  checked against Content-Length before anything is read, and while reading a chunked body),
  `+"`max-connections`"+` (%d; a further client is served by closing the connection idle longest
  (keep-alive between requests, or one that has sent nothing yet), logged at most once per 10 s; it
  waits in the listen queue only while every connection is busy with a request),
  `+"`read-header-timeout`"+` (%d s), `+"`read-timeout`"+` (30 s without a byte while a body is due: the
  request is answered 408, its connection closed and its memory freed, so a client that sends part of a body and stalls
  holds nothing for long), `+"`idle-timeout`"+` (60 s for a keep-alive connection between
  requests) and `+"`max-bytes-in-flight`"+` (one budget for the bodies all requests are reading and
  decoding, counted as each body's buffer grows, as the avro and thrift sources count frames;
  past it a request waits up to `+"`read-timeout`"+` for room and is then answered 503 with
  Retry-After, logged at most once per 10 s; a Content-Length over the whole budget is answered
  503 at once. Default: a quarter of GOMEMLIMIT when set, else 256 MiB).
- Counters: the hand-off counts AppendBatchReceived/Accepted and EventReceived/Accepted per
  request, and ChannelWriteFail per refused one, as Flume does; EventReadFail counts requests
  answered 400, 413 or 500 by the handler (Flume counts its 400 and 500 there too);
  GenericProcessingFail counts failures inside the agent (answered 500). OpenConnectionCount is
  kept exactly (Flume's HTTP source leaves it 0).
- TLS: `+"`ssl`"+`, `+"`keystore`"+`, `+"`keystore-password`"+`, `+"`keystore-type`"+` and the protocol and cipher
  suite lists as in Flume 1.11 (with its deprecated spellings `+"`enableSSL`"+`, `+"`keystorePassword`"+`,
  `+"`excludeProtocols`"+`), and the `+"`FLUME_SSL_*`"+` environment variables. Key stores may be JKS,
  PKCS12 or PEM; `+"`ssl.certFile`"+` with `+"`ssl.keyFile`"+` (PEM files, as most Go and nginx setups
  have them) is a Sluice extension. Cipher suite lists apply to TLS 1.2; Go cannot disable single
  TLS 1.3 suites.
- Checked beside Apache Flume 1.11's HTTP source (test/interop): the same requests get the same
  status from both, but for the differences listed here, and make the same events byte for byte.
- Jetty's `+"`QueuedThreadPool.*`"+`, `+"`HttpConfiguration.*`"+`, `+"`SslContextFactory.*`"+` and
  `+"`ServerConnector.*`"+` properties are accepted so Flume files load, and named (never their
  values) in one warning at start: they have no meaning for Go's HTTP server.`,
	defaultMaxBlob, defaultMaxBody>>20, defaultMaxConns, int(defaultHdrTimout/time.Second)))
