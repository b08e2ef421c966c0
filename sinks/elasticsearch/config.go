// Package elasticsearch is Flume's Elasticsearch sink for the servers of
// today: it writes events as documents through the bulk API that
// Elasticsearch 7-9 and OpenSearch 1-2 share, over net/http, with the
// documents and daily index names Flume 1.9's sink produced.
package elasticsearch

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Flume's class names, accepted for serializer and indexNameBuilder.
const (
	flumePkg          = "org.apache.flume.sink.elasticsearch."
	logstashClass     = flumePkg + "ElasticSearchLogStashEventSerializer"
	dynamicClass      = flumePkg + "ElasticSearchDynamicSerializer"
	timeBasedBuilder  = flumePkg + "TimeBasedIndexNameBuilder"
	simpleNameBuilder = flumePkg + "SimpleIndexNameBuilder"
)

// Config is the sink's configuration.
type Config struct {
	HostNames        string `flume:"hostNames" required:"true" doc:"comma-separated servers: host:port (port 9200 if left out), or http:// / https:// URLs; requests go to them in turn"`
	IndexName        string `flume:"indexName" doc:"index name prefix; the daily suffix -yyyy-MM-dd (UTC, from the event's timestamp header, else now) is added, as Flume's TimeBasedIndexNameBuilder. %{header} is replaced by the header's value"`
	IndexType        string `flume:"indexType" doc:"accepted for compatibility: servers since Elasticsearch 7 / OpenSearch have no mapping types, so it is not sent"`
	ClusterName      string `flume:"clusterName" doc:"accepted for compatibility (the transport client's cluster name); the bulk API does not need it"`
	BatchSize        int    `flume:"batchSize" doc:"most events per transaction, and so per bulk request"`
	TTL              string `flume:"ttl" doc:"accepted with a warning: current servers have no per-document TTL (use an index lifecycle policy)"`
	Serializer       string `flume:"serializer" doc:"logstash (Flume's ElasticSearchLogStashEventSerializer, the default) or dynamic (ElasticSearchDynamicSerializer); Flume's class names are accepted"`
	IndexNameBuilder string `flume:"indexNameBuilder" doc:"Flume's TimeBasedIndexNameBuilder (daily indices, the default) or SimpleIndexNameBuilder (indexName as is)"`
	Client           string `flume:"client" doc:"accepted for compatibility (transport or rest); Sluice always uses the REST bulk API"`

	Username    string        `flume:"username" doc:"Sluice extension: user for HTTP basic authentication"`
	Password    string        `flume:"password" doc:"Sluice extension: password for basic authentication (never logged)"`
	APIKey      string        `flume:"apiKey" doc:"Sluice extension: API key, sent as 'Authorization: ApiKey <value>' (the base64 id:key Elasticsearch hands out; never logged)"`
	CAFile      string        `flume:"tls.caFile" doc:"Sluice extension: PEM file of the CA certificates an https server must chain to (default: the system's CAs)"`
	IDHeader    string        `flume:"idHeader" doc:"Sluice extension: header whose value becomes the document _id, so a batch delivered twice does not make duplicates; events without it get an id from the server"`
	Pipeline    string        `flume:"pipeline" doc:"Sluice extension: ingest pipeline the server runs on each document"`
	DataStream  bool          `flume:"dataStream" doc:"Sluice extension: write to the data stream indexName (no daily suffix) with op_type create; the server needs a matching index template"`
	Compression string        `flume:"compression" doc:"Sluice extension: none or gzip (request bodies compressed)"`
	Timeout     time.Duration `flume:"requestTimeout" unit:"ms" doc:"Sluice extension: time allowed for one bulk request"`
}

func defaults() *Config {
	return &Config{
		IndexName:        "flume",
		IndexType:        "log",
		ClusterName:      "elasticsearch",
		BatchSize:        100,
		Serializer:       "logstash",
		IndexNameBuilder: timeBasedBuilder,
		Client:           "transport",
		Compression:      "none",
		Timeout:          30 * time.Second,
	}
}

// serializerKind is logstash or dynamic, from any accepted spelling.
func (c *Config) serializerKind() string {
	switch strings.TrimSpace(c.Serializer) {
	case "logstash", logstashClass:
		return "logstash"
	case "dynamic", dynamicClass:
		return "dynamic"
	}
	return ""
}

// daily reports whether index names get the -yyyy-MM-dd suffix.
func (c *Config) daily() bool {
	return !c.DataStream && strings.TrimSpace(c.IndexNameBuilder) != simpleNameBuilder
}

// hosts returns the servers' base URLs (scheme://host:port).
func (c *Config) hosts() ([]string, error) {
	var out []string
	for _, h := range strings.Split(c.HostNames, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, "://") {
			h = "http://" + h
		}
		u, err := url.Parse(h)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%q is not host:port or a URL", h)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("%q: the scheme must be http or https", h)
		}
		if u.Port() == "" {
			u.Host = net.JoinHostPort(u.Hostname(), "9200")
		} else if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q: bad port", h)
		}
		if u.User != nil {
			return nil, fmt.Errorf("%q: put credentials in username/password, not in the URL", u.Redacted())
		}
		out = append(out, u.Scheme+"://"+u.Host+strings.TrimSuffix(u.Path, "/"))
	}
	if len(out) == 0 {
		return nil, errors.New("no server given")
	}
	return out, nil
}

// Validate checks the servers, the serializer and the extensions.
func (c *Config) Validate() error {
	var errs []error
	if _, err := c.hosts(); err != nil {
		errs = append(errs, conf.Invalid("hostNames", "%v", err))
	}
	if strings.TrimSpace(c.IndexName) == "" {
		errs = append(errs, conf.Invalid("indexName", "must not be empty"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", strconv.Itoa(c.BatchSize)))
	}
	if c.serializerKind() == "" {
		errs = append(errs, conf.Invalid("serializer", "%q is not logstash, dynamic or one of Flume's serializer classes %s, %s", c.Serializer, logstashClass, dynamicClass))
	}
	switch strings.TrimSpace(c.IndexNameBuilder) {
	case timeBasedBuilder, simpleNameBuilder:
	default:
		errs = append(errs, conf.Invalid("indexNameBuilder", "%q is not %s or %s", c.IndexNameBuilder, timeBasedBuilder, simpleNameBuilder))
	}
	switch c.Compression {
	case "none", "gzip":
	default:
		errs = append(errs, conf.Invalid("compression", "%q is not none or gzip", c.Compression))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, conf.Invalid("password", "is set but username is not"))
	}
	if c.APIKey != "" && c.Username != "" {
		errs = append(errs, conf.Invalid("apiKey", "set either apiKey or username/password, not both"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, conf.Invalid("requestTimeout", "must be more than 0"))
	}
	return errors.Join(errs...)
}

// Warnings name the settings that are accepted but do nothing.
func (c *Config) Warnings() []error {
	var w []error
	if hosts, err := c.hosts(); err == nil {
		for _, h := range hosts {
			if strings.HasSuffix(h, ":9300") {
				w = append(w, conf.Invalid("hostNames", "%s: 9300 is the transport port Flume 1.9's client used; Sluice speaks HTTP (the REST port, usually 9200)", h))
			}
		}
	}
	if strings.TrimSpace(c.TTL) != "" {
		w = append(w, conf.Invalid("ttl", "%q is ignored: Elasticsearch 5+ and OpenSearch have no per-document TTL; expire old daily indices with an index lifecycle (ILM/ISM) policy", c.TTL))
	}
	return w
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSink,
		Name:      "elasticsearch",
		Aliases:   []string{flumePkg + "ElasticSearchSink"},
		Stability: sluice.Beta,
		Doc: "Writes events as documents to Elasticsearch (7-9) or OpenSearch (1-2) through the bulk API, " +
			"in daily indices named as Flume's Elasticsearch sink named them (`flume-yyyy-MM-dd`), " +
			"with Flume's LogStash or dynamic document layout. Documents the server refuses for good " +
			"(mapping errors) go to the dead letter the sink is given; those it cannot take now (429, 5xx) " +
			"are retried.",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = elasticsearch
a1.sinks.k1.channel = c1
a1.sinks.k1.hostNames = 127.0.0.1:9200
a1.sinks.k1.indexName = flume
a1.sinks.k1.batchSize = 500
a1.sinks.k1.idHeader = eventId
a1.sinks.k1.deadLetter.directory = /tmp/sluice-deadletter
`

var notes = strings.TrimSpace(`
- Speaks the REST bulk API (` + "`POST /_bulk`" + `, NDJSON) over Go's net/http, not a client
  library: the official Elasticsearch Go client refuses servers that do not send its product
  header, so one plain HTTP client serves Elasticsearch 7-9 and OpenSearch 1-2 alike. Tested
  against a real OpenSearch 2.19.1 (test/peers); not yet against Elasticsearch itself (its
  embeddable runner, codelibs' elasticsearch-cluster-runner, could not be fetched here).
- Flume 1.9's sink (removed in Flume 1.10) used Elasticsearch 0.90's transport client on port
  9300; Sluice talks HTTP, so ` + "`hostNames`" + ` entries without a port get **9200**, and an
  entry may be a URL (` + "`https://es1:9200`" + `). Flume files that name port 9300 must be changed
  to the HTTP port (` + "`sluice check`" + ` warns about them).
- Documents are what Flume's serializers built. ` + "`logstash`" + ` (default): ` + "`@message`" + ` (the
  body), ` + "`@timestamp`" + ` (from the ` + "`timestamp`" + ` header, in ms, written as
  ` + "`2026-12-07T21:05:00.123Z`" + `), ` + "`@source`" + `, ` + "`@type`" + `, ` + "`@source_host`" + `, ` + "`@source_path`" + `
  (from the headers source, type, host, src_path, unless the @-named header is set) and
  ` + "`@fields`" + ` holding every header. ` + "`dynamic`" + `: ` + "`body`" + ` plus one field per header. A body
  or header value that is a JSON object (first non-blank character ` + "`{`" + `, and valid) is
  embedded as an object, as Flume did; anything else is a string (bytes that are not UTF-8
  become U+FFFD, as Java's decoding does). As in Flume, an event without a ` + "`timestamp`" + `
  (or ` + "`@timestamp`" + `) header gets the current time, in ` + "`@timestamp`" + ` and in
  ` + "`@fields.timestamp`" + `. Flume's YAML/SMILE body detection is not kept.
- Index names: ` + "`indexName-yyyy-MM-dd`" + ` in UTC from the ` + "`timestamp`" + ` header (else
  ` + "`@timestamp`" + `, else now); ` + "`%{header}`" + ` in indexName is replaced by the header's value.
  Other BucketPath escapes (%Y...) are not supported. Index names must be lower case on
  current servers.
- ` + "`indexType`" + ` is not sent: typeless servers refuse ` + "`_type`" + ` in bulk requests.
  ` + "`clusterName`" + `, ` + "`client`" + ` and ` + "`client.*`" + ` are accepted and unused. ` + "`ttl`" + ` is
  accepted with a warning (no server since Elasticsearch 5 has per-document TTL).
- A timestamp header that is not a number of milliseconds makes Flume's sink fail the whole
  batch forever; Sluice rejects that event alone (see dead letters).
- Per item of the bulk answer: 2xx is done; 429 and 5xx are retried with the core's
  backoff, only those items, in the same transaction; any other status (a mapping conflict, a
  document the server cannot parse) rejects the event for good with the server's reason: with
  ` + "`deadLetter.directory`" + ` or ` + "`deadLetter.channel`" + ` set it is set aside there and the rest
  commits, else the batch rolls back as in Flume. With ` + "`dataStream`" + ` and ` + "`idHeader`" + `, a
  409 (the document exists) counts as done, so a replay is idempotent.
- A request larger than the server's ` + "`http.max_content_length`" + ` (100 MB by default) is refused
  whole and retried: keep ` + "`batchSize`" + ` times the document size below it.
- A server that cannot be reached, a 429/5xx answer to the whole request, or a timeout rolls
  the batch back and the core retries it (the next server of ` + "`hostNames`" + ` first). 401 and
  403 give an error that says the credentials were refused; the events stay in the channel.
- Sluice extensions: ` + "`username`" + `/` + "`password`" + ` (basic auth) or ` + "`apiKey`" + `, ` + "`tls.caFile`" + `,
  ` + "`idHeader`" + ` (the document _id), ` + "`pipeline`" + `, ` + "`dataStream`" + ` (op_type create into the
  data stream indexName, no daily suffix; its template must exist, and the logstash serializer
  gives the ` + "`@timestamp`" + ` a data stream needs), ` + "`compression = gzip`" + `,
  ` + "`requestTimeout`" + `. Passwords and API keys never appear in logs or errors.`)
