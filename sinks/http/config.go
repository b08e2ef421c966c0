// Package http is Flume's HTTP sink: it POSTs each event's body to an
// endpoint and decides per response status, as Flume's per-code rules say,
// whether the event is done or goes back to the channel.
package http

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Batch formats: Flume's one POST per event, or a Sluice extension that
// sends a whole batch in one request.
const (
	formatNone   = "none"
	formatJSON   = "json"
	formatNDJSON = "ndjson"
)

// Config is the HTTP sink's configuration.
type Config struct {
	Endpoint                string            `flume:"endpoint" required:"true" doc:"URL to POST events to (http or https)"`
	ConnectTimeout          time.Duration     `flume:"connectTimeout" unit:"ms" doc:"time allowed to connect (and for the TLS handshake)"`
	RequestTimeout          time.Duration     `flume:"requestTimeout" unit:"ms" doc:"time allowed for the endpoint's answer once the request is sent"`
	ContentTypeHeader       string            `flume:"contentTypeHeader" doc:"Content-Type of each request (in the json and ndjson batch formats, text/plain is replaced by the format's type)"`
	AcceptHeader            string            `flume:"acceptHeader" doc:"Accept header of each request"`
	DefaultBackoff          bool              `flume:"defaultBackoff" doc:"pause before sending more after an answer whose status has no backoff.CODE rule"`
	DefaultRollback         bool              `flume:"defaultRollback" doc:"put the event back in the channel, to be sent again, after an answer whose status has no rollback.CODE rule (also for 2XX: set rollback.2XX = false)"`
	DefaultIncrementMetrics bool              `flume:"defaultIncrementMetrics" doc:"accepted for compatibility; see the notes on counters"`
	Backoff                 map[string]string `flume:"backoff.*" doc:"backoff.CODE = true|false for a status (200) or a class (2XX); the exact code wins over the class"`
	Rollback                map[string]string `flume:"rollback.*" doc:"rollback.CODE = true|false for a status or a class, as backoff.CODE"`
	IncrementMetrics        map[string]string `flume:"incrementMetrics.*" doc:"incrementMetrics.CODE = true|false, accepted for compatibility"`

	BatchSize   int    `flume:"batchSize" doc:"Sluice extension: most events taken from the channel in one transaction (Flume takes one)"`
	BatchFormat string `flume:"batchFormat" doc:"Sluice extension: none (one POST per event, its body as is, as Flume), json (one POST per batch: a JSON array of {\"headers\",\"body\"}, what the http source's JSONHandler reads) or ndjson (one JSON event per line)"`

	Truststore         string `flume:"truststore" doc:"Sluice extension: trust store with the CA certificates an https endpoint must chain to (default: $FLUME_SSL_TRUSTSTORE_PATH, else the system's CAs)"`
	TruststorePassword string `flume:"truststore-password" doc:"password of the trust store (default: $FLUME_SSL_TRUSTSTORE_PASSWORD)"`
	TruststoreType     string `flume:"truststore-type" doc:"JKS, PKCS12 or PEM (a file of CA certificates)"`
}

func defaults() *Config {
	return &Config{
		ConnectTimeout:    5 * time.Second,
		RequestTimeout:    5 * time.Second,
		ContentTypeHeader: "text/plain",
		AcceptHeader:      "text/plain",
		DefaultBackoff:    true,
		DefaultRollback:   true,
		BatchSize:         100,
		BatchFormat:       formatNone,
		TruststoreType:    "JKS",
	}
}

var codePattern = regexp.MustCompile(`^[1-5](XX|[0-9][0-9])$`)

// rules are the per-status overrides of one decision.
type rules struct {
	def   bool
	codes map[string]bool // "200" or "2XX"
}

// decide applies Flume's lookup: the exact code, then its class, then the
// default.
func (r rules) decide(status int) bool {
	code := fmt.Sprint(status)
	if v, ok := r.codes[code]; ok {
		return v
	}
	if v, ok := r.codes[code[:1]+"XX"]; ok {
		return v
	}
	return r.def
}

func parseRules(prefix string, def bool, m map[string]string) (rules, error) {
	r := rules{def: def, codes: map[string]bool{}}
	var errs []error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		code := strings.ToUpper(k)
		if !codePattern.MatchString(code) {
			errs = append(errs, conf.Invalid(prefix+"."+k, "%q is not a status code (like 503) or class (like 5XX)", k))
			continue
		}
		switch v := strings.ToLower(strings.TrimSpace(m[k])); v {
		case "true", "false":
			r.codes[code] = v == "true"
		default:
			// Flume reads anything but "true" as false; a typo here
			// would silently drop or loop events, so it is an error.
			errs = append(errs, conf.Invalid(prefix+"."+k, "%q is not true or false", m[k]))
		}
	}
	return r, errors.Join(errs...)
}

// Validate checks the endpoint, the timeouts and the status rules.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Endpoint)
	switch {
	case err != nil:
		errs = append(errs, conf.Invalid("endpoint", "%q is not a URL: %v", shownURL(c.Endpoint), hideURL(err, shownURL(c.Endpoint))))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, conf.Invalid("endpoint", "%q: the scheme must be http or https", shownURL(c.Endpoint)))
	case u.Host == "":
		errs = append(errs, conf.Invalid("endpoint", "%q has no host", shownURL(c.Endpoint)))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, conf.Invalid("connectTimeout", "must be more than 0"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, conf.Invalid("requestTimeout", "must be more than 0"))
	}
	for _, r := range []struct {
		prefix string
		m      map[string]string
	}{{"backoff", c.Backoff}, {"rollback", c.Rollback}, {"incrementMetrics", c.IncrementMetrics}} {
		if _, err := parseRules(r.prefix, false, r.m); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "\"%d\" must be at least 1", c.BatchSize))
	}
	switch c.BatchFormat {
	case formatNone, formatJSON, formatNDJSON:
	default:
		errs = append(errs, conf.Invalid("batchFormat", "%q is not none, json or ndjson", c.BatchFormat))
	}
	if c.Truststore != "" || c.trustParams().TrustStore != "" {
		if err := tlsconf.CheckType(c.trustParams().TrustStoreType); err != nil {
			errs = append(errs, conf.Invalid("truststore-type", "%v", err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) trustParams() tlsconf.Params {
	return tlsconf.Params{TrustStore: c.Truststore, TrustStorePassword: c.TruststorePassword,
		TrustStoreType: c.TruststoreType}.FromEnv("JKS")
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "http",
		Aliases:   []string{"org.apache.flume.sink.http.HttpSink"},
		Stability: sluice.Beta,
		Doc: "POSTs events to an HTTP endpoint: one request per event with the event's body, as " +
			"Flume's HTTP sink, or (a Sluice extension) one request per batch as a JSON array or " +
			"NDJSON. What each response status means — the event is done, or goes back to the " +
			"channel to be sent again, and whether to pause — follows Flume's `rollback.CODE` and " +
			"`backoff.CODE` rules. See the [HTTP guide](../http.md).",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = http
a1.sinks.k1.channel = c1
a1.sinks.k1.endpoint = http://localhost:8080/events
a1.sinks.k1.contentTypeHeader = application/json
a1.sinks.k1.rollback.2XX = false
a1.sinks.k1.backoff.2XX = false
a1.sinks.k1.rollback.4XX = false
a1.sinks.k1.backoff.4XX = false
`

var notes = strings.TrimSpace(`
- The status rules mean what they mean in Flume 1.11: for each answer, ` + "`rollback.CODE`" + `
  (else ` + "`rollback.<class>XX`" + `, else ` + "`defaultRollback`" + `) decides whether the event goes back to
  the channel to be sent again, and ` + "`backoff.CODE`" + ` (likewise) whether the sink pauses before
  sending more. Flume's defaults roll back and back off on **every** status, 200 included, so
  an endpoint that answers 200 gets the same event again and again; Sluice does the same (a
  Flume file keeps its meaning) and warns at start when a 2XX answer would roll back. Set
  ` + "`rollback.2XX = false`" + ` and ` + "`backoff.2XX = false`" + `, and usually the same for ` + "`4XX`" + `
  (a request the endpoint will never accept is dropped, as in Flume, with a warning in the log).
- A failed connection or a timeout rolls back and backs off, as in Flume. Events are sent in
  order: when one goes back to the channel, the rest of the batch goes back with it, so the
  endpoint never sees a later event before an earlier one.
- Differences: an event rolled back is sent again after the core's backoff (250 ms doubling to
  5 s) even when its backoff rule is false (Flume retries it at once, in a tight loop). A
  backoff without rollback ends the batch after that event; the rest is sent after the pause.
  Flume takes one event per transaction; Sluice takes up to ` + "`batchSize`" + ` (100) and still
  sends one request per event, committing after the last.
- Events with an empty body are not sent and are taken off the channel, as in Flume (one
  warning a minute says so).
- Counters: the core counts EventDrainAttemptCount and EventDrainSuccessCount for every event
  the channel gives up (sent and done, or dropped by a rule), EventWriteFail for failures.
  Flume counts EventDrainSuccessCount only for statuses whose ` + "`incrementMetrics`" + ` rule is
  true (none by default); ` + "`incrementMetrics.*`" + ` and ` + "`defaultIncrementMetrics`" + ` are accepted and
  checked but change nothing. The sink adds ` + "`HttpResponse2XXCount`" + ` ... ` + "`HttpResponse5XXCount`" + `
  (answers per status class) and ConnectionCreated/Closed/FailedCount, which Flume's HTTP
  sink does not keep.
- Rule keys must be a status (` + "`503`" + `) or a class (` + "`5XX`" + `) and values true or false; Flume
  reads any other value as false, Sluice refuses the file.
- ` + "`batchFormat`" + ` (Sluice extension): ` + "`json`" + ` sends the whole batch as one JSON array of
  ` + "`{\"headers\":{...},\"body\":\"...\"}`" + ` (what an http source's JSONHandler reads, so two Sluice
  or Flume tiers can talk HTTP), ` + "`ndjson`" + ` one such object per line (the http source's
  ` + "`ndjson`" + ` handler). The rules then apply to the batch as a whole. Bodies must be UTF-8 text
  in these formats; an event whose body is not is rejected (see deadLetter.*). With the default
  ` + "`contentTypeHeader`" + ` (text/plain) the request is sent as ` + "`application/json; charset=UTF-8`" + ` or
  ` + "`application/x-ndjson`" + `.
- Checked against Apache Flume 1.11's HTTP source (test/interop): JSON batches into its
  JSONHandler and one POST per event into its BLOBHandler arrive as sent.
- https endpoints are verified against the system's CAs, or against ` + "`truststore`" + ` (JKS,
  PKCS12, or PEM: a CA file), with the host name checked, as Java's HttpURLConnection does.
  Flume's HTTP sink takes its trust store from the JVM only.`)
