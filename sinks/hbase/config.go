// Package hbase is Flume's HBase sinks (hbase, hbase2, asynchbase): each
// event becomes a Put of one row, and optionally an Increment of a counter
// row, made by Flume's simple or regex serializer with the same row keys and
// cells. It talks to HBase natively (ZooKeeper, then the region servers)
// through github.com/tsuna/gohbase, and lets the channel commit only once
// HBase acknowledged every mutation of the batch.
package hbase

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/javaregex"
)

// Flume's serializer class names (hbase / asynchbase / hbase2 sinks).
const (
	simpleHBase  = "org.apache.flume.sink.hbase.SimpleHbaseEventSerializer"
	simpleAsync  = "org.apache.flume.sink.hbase.SimpleAsyncHbaseEventSerializer"
	simpleHBase2 = "org.apache.flume.sink.hbase2.SimpleHBase2EventSerializer"
	regexHBase   = "org.apache.flume.sink.hbase.RegexHbaseEventSerializer"
	regexHBase2  = "org.apache.flume.sink.hbase2.RegexHBase2EventSerializer"
)

// Config is the sink's configuration: Flume's keys for the three sinks and
// both serializers.
type Config struct {
	Table              string        `flume:"table" required:"true" doc:"the HBase table to write to (namespace:table allowed); it must exist"`
	ColumnFamily       string        `flume:"columnFamily" required:"true" doc:"the column family every cell goes to; it must exist in the table"`
	ZookeeperQuorum    string        `flume:"zookeeperQuorum" doc:"ZooKeeper quorum of the HBase cluster, host:port[,host:port...] (port 2181 if left out). Flume falls back to hbase-site.xml when it is not set; Sluice reads no hbase-site.xml and uses HBase's own default, localhost:2181"`
	ZnodeParent        string        `flume:"znodeParent" doc:"the cluster's root znode in ZooKeeper"`
	BatchSize          int           `flume:"batchSize" doc:"most events per transaction; the mutations of one batch are sent together"`
	CoalesceIncrements bool          `flume:"coalesceIncrements" doc:"sum the increments of a batch per row and column and send one Increment per row"`
	Serializer         string        `flume:"serializer" doc:"simple (Flume's SimpleHbaseEventSerializer, SimpleAsyncHbaseEventSerializer or SimpleHBase2EventSerializer: the default) or regex (RegexHbaseEventSerializer, RegexHBase2EventSerializer); Flume's class names are accepted"`
	Timeout            time.Duration `flume:"timeout" unit:"ms" doc:"time allowed for each mutation of a batch (and for the table check at start) before the batch rolls back and is retried; Flume's asynchbase timeout, used by all three types here"`
	EnableWal          bool          `flume:"enableWal" doc:"false writes with Durability SKIP_WAL (faster, and lost if a region server dies before flushing)"`

	PayloadColumn   string `flume:"serializer.payloadColumn" doc:"simple serializer: the column that gets the event body"`
	IncrementColumn string `flume:"serializer.incrementColumn" doc:"simple serializer: the column of incrementRow that is incremented by 1 per event. A key without a value is ignored (as in Flume), so the simple serializer always writes both the row and the increment"`
	RowPrefix       string `flume:"serializer.rowPrefix" doc:"simple serializer: the start of every row key"`
	IncrementRow    string `flume:"serializer.incrementRow" doc:"simple serializer: the row holding the counter"`
	Suffix          string `flume:"serializer.suffix" doc:"simple serializer: what follows rowPrefix in the row key: uuid (a random UUID), random (a random signed 64-bit number), timestamp (milliseconds since 1970: events of the same millisecond overwrite each other, as in Flume) or nano (the monotonic clock in nanoseconds, Java's System.nanoTime); anything else means uuid, as in Flume"`

	Regex           string `flume:"serializer.regex" doc:"regex serializer: Java regular expression the whole body must match; its groups become the columns. A body that does not match is not written (as in Flume)"`
	RegexIgnoreCase bool   `flume:"serializer.regexIgnoreCase" doc:"regex serializer: match case-insensitively"`
	ColNames        string `flume:"serializer.colNames" doc:"regex serializer: comma-separated column names, one per group of regex"`
	RowKeyIndex     int    `flume:"serializer.rowKeyIndex" doc:"regex serializer: index (from 0) of the group that is the row key; colNames must say ROW_KEY there. -1: the row key is <milliseconds>-<10 random letters/digits, fixed per process>-<counter>"`
	DepositHeaders  bool   `flume:"serializer.depositHeaders" doc:"regex serializer: also write every header as a column named after it"`
	Charset         string `flume:"serializer.charset" doc:"regex serializer: charset of the bodies, header names and values; only UTF-8 is supported"`

	KerberosPrincipal   string            `flume:"kerberosPrincipal" doc:"not supported: Sluice's HBase client cannot authenticate with Kerberos, so setting it is an error"`
	KerberosKeytab      string            `flume:"kerberosKeytab" doc:"not supported (see kerberosPrincipal)"`
	MaxConsecutiveFails int               `flume:"maxConsecutiveFails" doc:"asynchbase: accepted for compatibility; the client reconnects by itself, so there is nothing to recreate"`
	Async               map[string]string `flume:"async.*" doc:"asynchbase: asynchbase client settings; accepted and ignored with a warning"`
}

func defaults() *Config {
	return &Config{
		ZookeeperQuorum:     "localhost:2181",
		ZnodeParent:         "/hbase",
		BatchSize:           100,
		Serializer:          "simple",
		Timeout:             60 * time.Second,
		EnableWal:           true,
		PayloadColumn:       "pCol",
		IncrementColumn:     "iCol",
		RowPrefix:           "default",
		IncrementRow:        "incRow",
		Suffix:              "uuid",
		Regex:               "(.*)",
		ColNames:            "payload",
		RowKeyIndex:         -1,
		Charset:             "UTF-8",
		MaxConsecutiveFails: 10,
	}
}

// serializerKind is simple or regex from any accepted spelling, "" if none.
func (c *Config) serializerKind() string {
	switch strings.TrimSpace(c.Serializer) {
	case "", "simple", simpleHBase, simpleAsync, simpleHBase2:
		return "simple"
	case "regex", regexHBase, regexHBase2:
		return "regex"
	}
	return ""
}

// quorum returns the ZooKeeper servers as host:port, in the order given.
func (c *Config) quorum() ([]string, error) {
	var out []string
	for _, h := range strings.Split(c.ZookeeperQuorum, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port: ZooKeeper's client port
			host, port = strings.Trim(h, "[]"), "2181"
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
			return nil, fmt.Errorf("%q is not host:port", h)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, errors.New("no ZooKeeper server given")
	}
	return out, nil
}

// colNames splits colNames as Flume does (String.split on ",": names are
// not trimmed, trailing empty names dropped).
func (c *Config) colNames() []string {
	names := strings.Split(c.ColNames, ",")
	for len(names) > 1 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	return names
}

func isUTF8(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8", "unicode-1-1-utf-8":
		return true
	}
	return false
}

// Validate checks the quorum, the serializer and its settings.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.Table) == "" {
		errs = append(errs, conf.Invalid("table", "must not be empty"))
	}
	if c.ColumnFamily == "" {
		errs = append(errs, conf.Invalid("columnFamily", "must not be empty"))
	}
	if _, err := c.quorum(); err != nil {
		errs = append(errs, conf.Invalid("zookeeperQuorum", "%v", err))
	}
	if !strings.HasPrefix(c.ZnodeParent, "/") {
		errs = append(errs, conf.Invalid("znodeParent", "%q must start with /", c.ZnodeParent))
	}
	if c.BatchSize < 1 {
		errs = append(errs, conf.Invalid("batchSize", "%q must be at least 1", strconv.Itoa(c.BatchSize)))
	}
	if c.Timeout <= 0 {
		errs = append(errs, conf.Invalid("timeout", "must be more than 0"))
	}
	if c.KerberosPrincipal != "" || c.KerberosKeytab != "" {
		key := "kerberosPrincipal"
		if c.KerberosPrincipal == "" {
			key = "kerberosKeytab"
		}
		errs = append(errs, conf.Invalid(key, "Kerberos is not supported: Sluice's HBase client (gohbase) cannot authenticate to a secure cluster"))
	}
	switch c.serializerKind() {
	case "":
		errs = append(errs, conf.Invalid("serializer", "%q is not a serializer Sluice has (simple or regex, or Flume's class names for them)", c.Serializer))
	case "regex":
		if !isUTF8(c.Charset) {
			errs = append(errs, conf.Invalid("serializer.charset", "%q is not supported (only UTF-8)", c.Charset))
		}
		if _, err := compileRegex(c.Regex, c.RegexIgnoreCase); err != nil {
			errs = append(errs, err)
		}
		names := c.colNames()
		if c.RowKeyIndex >= 0 {
			if c.RowKeyIndex >= len(names) {
				errs = append(errs, conf.Invalid("serializer.rowKeyIndex", "%q must be less than the number of colNames (%d)", strconv.Itoa(c.RowKeyIndex), len(names)))
			} else if !strings.EqualFold(names[c.RowKeyIndex], rowKeyName) {
				errs = append(errs, conf.Invalid("serializer.rowKeyIndex", "colNames must say %s at index %d, not %q", rowKeyName, c.RowKeyIndex, names[c.RowKeyIndex]))
			}
		}
	}
	return errors.Join(errs...)
}

// Warnings names settings that are accepted but change nothing.
func (c *Config) Warnings() []error {
	var ws []error
	if len(c.Async) > 0 {
		ws = append(ws, conf.Invalid("async.*", "asynchbase client settings are ignored (Sluice uses its own HBase client)"))
	}
	if c.serializerKind() == "simple" {
		switch c.Suffix {
		case "uuid", "random", "timestamp", "nano":
		default:
			ws = append(ws, conf.Invalid("serializer.suffix", "%q is not uuid, random, timestamp or nano: uuid is used, as in Flume", c.Suffix))
		}
	}
	return ws
}

func init() {
	sluice.Register(sluice.Spec{
		Kind: sluice.KindSink,
		Name: "hbase2",
		Aliases: []string{"org.apache.flume.sink.hbase2.HBase2Sink",
			"hbase", "org.apache.flume.sink.hbase.HBaseSink",
			"asynchbase", "org.apache.flume.sink.hbase.AsyncHBaseSink"},
		Stability: sluice.Beta,
		Doc: "Writes each event to an HBase table as Flume's HBase sinks do (`hbase2`, and `hbase` and `asynchbase` " +
			"under the same code): the serializer turns an event into a Put of one row in `columnFamily` and, for the " +
			"simple serializer, an Increment of a counter. The simple serializer (the default) puts the body in " +
			"`payloadColumn` of row `rowPrefix` + a uuid/random/timestamp/nano suffix and adds 1 to " +
			"`incrementRow`:`incrementColumn`; the regex serializer matches the body against `regex` and puts each group " +
			"in the column `colNames` names (one group can be the row key), with the headers too when " +
			"`depositHeaders` is set. The channel commits only once HBase acknowledged every Put and Increment of the " +
			"batch. Sluice talks to HBase natively (ZooKeeper `zookeeperQuorum`, then the region servers) with " +
			"gohbase: the same address a Flume user already configures, and no Thrift or REST gateway to run.",
		Notes:   notes,
		Example: example,
		Factory: sluice.MakeFactory(defaults, New),
	})
}

const example = `a1.sinks = k1
a1.sinks.k1.type = hbase2
a1.sinks.k1.channel = c1
a1.sinks.k1.table = events
a1.sinks.k1.columnFamily = d
a1.sinks.k1.zookeeperQuorum = localhost:2181
a1.sinks.k1.batchSize = 500
a1.sinks.k1.serializer = org.apache.flume.sink.hbase2.RegexHBase2EventSerializer
a1.sinks.k1.serializer.regex = ([^ ]+) ([^ ]+) (.*)
a1.sinks.k1.serializer.colNames = ROW_KEY,level,message
a1.sinks.k1.serializer.rowKeyIndex = 0
`

var notes = strings.TrimSpace(`
- **One sink for three Flume types.** ` + "`hbase2`" + ` (Flume's HBase2Sink), ` + "`hbase`" + ` (HBaseSink, for HBase 1, removed
  from Flume 1.11) and ` + "`asynchbase`" + ` (AsyncHBaseSink, also removed) all run this sink (tested against HBase 2.6.1). The serializers' Flume class names of all three are accepted; the simple ones
  write the same cells, as do the two regex ones. What differs from each:
  - ` + "`asynchbase`" + `: its ` + "`timeout`" + ` is honoured (per mutation; default 60000 ms as in Flume), ` + "`async.*`" + ` client
    settings are ignored with a warning, ` + "`maxConsecutiveFails`" + ` is accepted and does nothing (the client reconnects
    by itself).
  - ` + "`hbase`" + ` / ` + "`hbase2`" + `: Flume never times out a write (the HBase client retries for minutes); Sluice gives each
    mutation ` + "`timeout`" + ` (60 s), then rolls the batch back and retries it, logging the outage once.
    ` + "`enableWal = false`" + ` is honoured (SKIP_WAL). ` + "`kerberosPrincipal`" + ` / ` + "`kerberosKeytab`" + ` are refused: the Go client
    cannot authenticate with Kerberos, so a secure cluster needs Flume.
- **No hbase-site.xml.** Flume's hbase/hbase2 sinks read the cluster's address from hbase-site.xml on the class path
  when ` + "`zookeeperQuorum`" + ` is not set; Sluice reads no Hadoop configuration and uses HBase's default
  ` + "`localhost:2181`" + `. Set ` + "`zookeeperQuorum`" + ` (and ` + "`znodeParent`" + ` if not ` + "`/hbase`" + `). Unlike Flume, the nodes may use
  different client ports, and a node without a port means 2181.
- **Why native.** gohbase speaks HBase's own RPC protocol: it finds the regions through ZooKeeper and writes to the
  region servers directly, as Flume's Java client does, so the ` + "`zookeeperQuorum`" + ` a Flume user already has is all it
  needs; a Thrift or REST gateway would be one more server to run and a hop for every batch.
- **Commit.** Every Put and Increment of a batch is sent at once (the client groups them per region server) and the
  channel commits only when HBase acknowledged all of them. When some fail (a region server gone, a region moving,
  HBase down past ` + "`timeout`" + `), only the events whose mutations failed are sent again, after a backoff, in the same
  transaction; nothing is lost. As in Flume, a retried event gets a new row key (uuid, random, nano, or the regex
  serializer's generated key), so a mutation that HBase applied but did not acknowledge in time leaves a duplicate
  row, and a retried increment counts twice. With ` + "`coalesceIncrements`" + `, the increments of a batch are summed per
  row and column first (one Increment per row), as in Flume.
- **At start** the sink checks that the table and the column family exist (Flume's HBase2Sink does the same and fails
  to start); either missing stops the agent with an error naming table, family and quorum. When no ZooKeeper server
  of the quorum accepts a connection, or HBase does not answer the check within 10 s (or ` + "`timeout`" + `), the sink
  starts anyway with a warning and the events wait in the channel.
- **HBase away.** A batch waits for HBase up to ` + "`timeout`" + ` (the client keeps looking for the region meanwhile), so
  an outage shorter than that only delays it; a longer one rolls it back, and the core logs the outage once and
  retries with backoff. Tested: HBase stopped for 30 s while a client kept sending, and SIGKILLed mid-stream and
  restarted: nothing lost (in the SIGKILL case, one batch written twice).
- **Regex serializer.** The regex is Java's syntax, translated to Go's RE2: lookaround and backreferences are refused
  when the file is read. It must match the whole body (Java's matches(), with DOTALL; ` + "`regexIgnoreCase`" + ` adds
  case-insensitivity). A body that does not match, or whose group count differs from the number of ` + "`colNames`" + `, is
  not written, silently, as in Flume (Sluice logs the first one). A group that took no part in the match (Flume fails
  the batch with a NullPointerException forever) or an empty or oversized row key is reported as a rejected event:
  the batch rolls back as in Flume unless ` + "`deadLetter.*`" + ` is set. Only the UTF-8 charset is supported.
- The simple serializer's ` + "`timestamp`" + ` suffix gives events of the same millisecond the same row, so they overwrite one
  another (in Flume too); use ` + "`uuid`" + ` (the default) or ` + "`nano`" + ` to keep every event.
- Custom serializer classes (Java) cannot run; the two built-in serializers cover Flume's own.
`)

// compileRegex compiles the regex serializer's pattern as Flume does:
// Pattern.DOTALL, CASE_INSENSITIVE when asked, and matches() (the whole
// body must match). The flags go in front of the Java pattern so that the
// translation gives "." Java's DOTALL meaning.
func compileRegex(pattern string, ignoreCase bool) (*regexp.Regexp, error) {
	flags := "(?s)"
	if ignoreCase {
		flags = "(?si)"
	}
	tr, err := javaregex.Translate(flags + pattern)
	if err != nil {
		return nil, conf.Invalid("serializer.regex", "%q %v", pattern, err)
	}
	re, err := regexp.Compile(`\A(?:` + tr + `)\z`)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, conf.Invalid("serializer.regex", "%q is not a valid regular expression: %s", pattern, msg)
	}
	return re, nil
}
