// Package syslog holds Flume's three syslog sources: syslogtcp,
// multiport_syslogtcp and syslogudp. They share their configuration, the
// parser (internal/syslog), the client headers and, for the two TCP ones,
// the connection loop and TLS, so they live in one package that registers
// three types.
package syslog

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/syslog"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

// Common holds the properties every syslog source reads.
type Common struct {
	Host                 string            `flume:"host" doc:"host name or IP address to listen on; empty means every interface"`
	KeepFields           string            `flume:"keepFields" doc:"header fields that stay in the body: none (or false), all (or true), or any of priority, version, timestamp, hostname"`
	ClientIPHeader       string            `flume:"clientIPHeader" doc:"header that receives the sender's IP address; unset means no header"`
	ClientHostnameHeader string            `flume:"clientHostnameHeader" doc:"header that receives the sender's host name (reverse DNS, the IP when there is none); unset means no header"`
	Format               map[string]string `flume:"format.*" doc:"Flume's custom formats (format.regex, .search, .replace, .dateFormat): not supported; setting them is a configuration error"`
}

func (c *Common) validate() []error {
	var errs []error
	if bad := syslog.CheckKeep(c.KeepFields); len(bad) > 0 {
		errs = append(errs, conf.Invalid("keepFields", "%q names no field (use none, all, or any of priority, version, timestamp, hostname)", strings.Join(bad, " ")))
	}
	if len(c.Format) > 0 {
		errs = append(errs, conf.Invalid("format.*", "custom formats are not supported by Sluice; messages are parsed as RFC 3164 or RFC 5424"))
	}
	return errs
}

// TCPConfig is syslogtcp's configuration.
type TCPConfig struct {
	Common
	Port      int `flume:"port" required:"true" doc:"TCP port to listen on (0 picks a free port)"`
	EventSize int `flume:"eventSize" doc:"largest message in bytes (from < to the end of the line); a longer one is cut into events marked Incomplete"`
	BatchSize int `flume:"batchSize" doc:"most messages of one connection handed to the channels at once (a Sluice addition; Flume puts them one by one)"`
	tlsconf.ServerProps
}

// MultiportConfig is multiport_syslogtcp's configuration.
type MultiportConfig struct {
	Common
	Ports           []string          `flume:"ports" required:"true" doc:"space-separated TCP ports to listen on"`
	EventSize       int               `flume:"eventSize" doc:"largest message in bytes; a longer one is cut into events marked Incomplete"`
	BatchSize       int               `flume:"batchSize" doc:"most messages of one connection handed to the channels at once"`
	PortHeader      string            `flume:"portHeader" doc:"header that receives the port the message came in on; unset means no header"`
	CharsetDefault  string            `flume:"charset.default" doc:"character set of the messages: UTF-8, US-ASCII or ISO-8859-1; a message not valid in it is marked Invalid"`
	CharsetPort     map[string]string `flume:"charset.port.*" doc:"character set of the messages of one port (charset.port.5140 = ISO-8859-1)"`
	NumProcessors   int               `flume:"numProcessors" doc:"accepted for compatibility and ignored: every connection has its own goroutine"`
	ReadBufferBytes int               `flume:"readBufferBytes" alias:"readBufferSize" doc:"accepted for compatibility and ignored: the read buffer is sized by eventSize"`
	tlsconf.ServerProps
}

// UDPConfig is syslogudp's configuration.
type UDPConfig struct {
	Common
	Port int `flume:"port" required:"true" doc:"UDP port to listen on (0 picks a free port)"`
}

// minEventSize is Flume's floor for eventSize.
const minEventSize = 10

func checkPort(key string, p int) error {
	if p < 0 || p > 65535 {
		return conf.Invalid(key, "\"%d\" is not a port (0-65535)", p)
	}
	return nil
}

func checkEventSize(n int) error {
	if n < 1 {
		return conf.Invalid("eventSize", "\"%d\" must be at least 1 (values under 10 mean 10, as in Flume)", n)
	}
	if n > 64<<20 {
		return conf.Invalid("eventSize", "\"%d\" is more than 64 MiB", n)
	}
	return nil
}

func checkBatch(n int) error {
	if n < 1 {
		return conf.Invalid("batchSize", "\"%d\" must be at least 1", n)
	}
	return nil
}

// Validate checks ranges, keepFields and the TLS settings.
func (c *TCPConfig) Validate() error {
	errs := c.Common.validate()
	errs = append(errs, checkPort("port", c.Port), checkEventSize(c.EventSize), checkBatch(c.BatchSize))
	errs = append(errs, c.ServerProps.Validate())
	return errors.Join(errs...)
}

// Validate checks the ports, character sets, keepFields and TLS settings.
func (c *MultiportConfig) Validate() error {
	errs := c.Common.validate()
	if _, err := c.ports(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkEventSize(c.EventSize), checkBatch(c.BatchSize))
	if _, ok := lookupCharset(c.CharsetDefault); !ok {
		errs = append(errs, conf.Invalid("charset.default", "%q is not supported (use UTF-8, US-ASCII or ISO-8859-1)", c.CharsetDefault))
	}
	for k, v := range c.CharsetPort {
		if _, err := strconv.ParseUint(k, 10, 16); err != nil {
			errs = append(errs, conf.Invalid("charset.port."+k, "%q is not a port number", k))
		}
		if _, ok := lookupCharset(v); !ok {
			errs = append(errs, conf.Invalid("charset.port."+k, "%q is not supported (use UTF-8, US-ASCII or ISO-8859-1)", v))
		}
	}
	errs = append(errs, c.ServerProps.Validate())
	return errors.Join(errs...)
}

func (c *MultiportConfig) ports() ([]int, error) {
	var ports []int
	for _, f := range c.Ports {
		for _, s := range strings.Fields(f) {
			p, err := strconv.Atoi(s)
			if err != nil || p < 0 || p > 65535 {
				return nil, conf.Invalid("ports", "%q is not a port (0-65535)", s)
			}
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		return nil, conf.Invalid("ports", "no port given")
	}
	return ports, nil
}

// Validate checks the port and keepFields.
func (c *UDPConfig) Validate() error {
	errs := c.Common.validate()
	errs = append(errs, checkPort("port", c.Port))
	return errors.Join(errs...)
}

func commonDefaults() Common { return Common{KeepFields: "none"} }

// charset is one of the ASCII-compatible character sets the multiport
// source checks messages against.
type charset int

const (
	csUTF8 charset = iota
	csASCII
	csLatin1
)

func lookupCharset(name string) (charset, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8":
		return csUTF8, true
	case "us-ascii", "ascii", "iso646-us", "default":
		return csASCII, true
	case "iso-8859-1", "iso8859-1", "iso8859_1", "iso_8859-1", "8859_1", "latin1", "l1", "cp819", "ibm819":
		return csLatin1, true
	}
	return 0, false
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "syslogtcp",
		Aliases:   []string{"org.apache.flume.source.SyslogTcpSource"},
		Stability: sluice.Beta,
		Doc: "Receives syslog messages (RFC 3164 or RFC 5424) over TCP, newline-framed or " +
			"octet-counted (RFC 6587), optionally over TLS, and turns each into an event with " +
			"Flume's headers: `Facility`, `Severity`, `priority`, `version`, `timestamp` (ms since " +
			"the epoch) and `host`.",
		Notes:   tcpNotes,
		Example: "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = syslogtcp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = 5140\na1.sources.r1.keepFields = hostname\na1.sources.r1.clientIPHeader = client\na1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(func() *TCPConfig {
			return &TCPConfig{Common: commonDefaults(), EventSize: 2500, BatchSize: 100, ServerProps: tlsconf.DefaultServerProps()}
		}, NewTCP),
	})
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "multiport_syslogtcp",
		Aliases:   []string{"org.apache.flume.source.MultiportSyslogTCPSource"},
		Stability: sluice.Beta,
		Doc: "Receives syslog messages over TCP on several ports at once, with a character set per " +
			"port and the port in a header. Headers as Flume's multiport source: `Priority`, " +
			"`Facility`, `Severity`, `Version`, `timestamp` and `host`.",
		Notes:   multiportNotes,
		Example: "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = multiport_syslogtcp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.ports = 10001 10002\na1.sources.r1.portHeader = port\na1.sources.r1.charset.port.10002 = ISO-8859-1\na1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(func() *MultiportConfig {
			return &MultiportConfig{Common: commonDefaults(), EventSize: 2500, BatchSize: 100, CharsetDefault: "UTF-8", ReadBufferBytes: 1024, ServerProps: tlsconf.DefaultServerProps()}
		}, NewMultiport),
	})
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "syslogudp",
		Aliases:   []string{"org.apache.flume.source.SyslogUDPSource"},
		Stability: sluice.Beta,
		Doc: "Receives syslog messages (RFC 3164 or RFC 5424), one per UDP datagram, with the " +
			"same headers as `syslogtcp`.",
		Notes:   udpNotes,
		Example: "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = syslogudp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = 5140\na1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(func() *UDPConfig { return &UDPConfig{Common: commonDefaults()} }, NewUDP),
	})
}

const parseNotes = `
- Parsing follows Flume's ` + "`SyslogUtils`" + `: a message must start with ` + "`<PRI>`" + ` (1 to 3 digits),
  otherwise it becomes an event whose body is the whole message, with ` + "`Facility`" + ` and
  ` + "`Severity`" + ` 0 and ` + "`flume.syslog.status: Invalid`" + `. A message whose header is neither RFC
  5424 (` + "`<PRI>VERSION TIMESTAMP HOSTNAME ...`" + `) nor RFC 3164 (` + "`<PRI>Mmm dd HH:MM:SS HOSTNAME ...`" + `)
  keeps its whole text as the body, with ` + "`Facility`" + ` and ` + "`Severity`" + ` only. Nothing is dropped.
- A message longer than ` + "`eventSize`" + ` bytes is cut: its first ` + "`eventSize`" + ` bytes become an event
  marked ` + "`flume.syslog.status: Incomplete`" + `, and the rest is read as the following message(s), as
  Flume does (the rest usually becomes an Invalid event). Values under 10 mean 10. Unlike Flume,
  a message of exactly ` + "`eventSize`" + ` bytes is complete.
- Timestamps: RFC 5424 fractions are cut to milliseconds (as Flume) and the UTC offset is honoured;
  Flume ignores the offset of a timestamp that has a fraction, and reads a one-digit fraction
  ` + "`.5`" + ` as 5 ms. RFC 3164 timestamps have no year: the year is chosen so the time is at most
  a month ahead of the agent's clock and at most eleven months behind, as Flume does.
- Flume's syslogtcp and syslogudp do not reset ` + "`priority`" + ` and ` + "`version`" + ` between messages, so an
  Invalid or unparsed message carries the previous message's; Sluice sets them only from the
  message itself. Otherwise the events equal Flume's byte for byte (compared in test/interop).
- With ` + "`keepFields`" + `, a nil timestamp or host name (` + "`-`" + `) stays in the body as ` + "`-`" + ` (Flume writes
  ` + "`null`" + `). ` + "`keepFields = all`" + ` keeps the whole message as the body.
- The body keeps the bytes that were sent (Flume's syslogtcp/syslogudp replace bytes that are not
  valid UTF-8 with U+FFFD in a parsed body). The message body may contain any character; Flume's
  pattern fails on a CR or other line separators inside it and then keeps the whole text.
- ` + "`clientHostnameHeader`" + ` looks each sender up by reverse DNS once and remembers the name (up
  to 4096 senders); Flume looks it up for every event. ` + "`clientIPHeader`" + ` is the address as Java writes it
  (IPv6 in full, without brackets).
- Flume's custom formats (` + "`format.regex`" + `, ` + "`format.search`" + `, ` + "`format.replace`" + `,
  ` + "`format.dateFormat`" + `) are not supported: setting one is a configuration error rather than a silent
  difference.`

const tcpFramingNotes = `
- Framing: a line ending in LF (a CR before it is dropped; empty lines are skipped) or, when a
  frame starts with a digit, RFC 6587 octet counting (` + "`MSG-LEN SP MSG`" + `), which Flume does not
  read (it makes such messages Invalid). A partial message left when the client closes the
  connection becomes an event (marked Incomplete if an octet count promised more); Flume drops it.
- Back-pressure: when the channels refuse a batch, the connection stops being read and the batch is
  retried with back-off until they take it (TCP then slows the sender down). Flume drops the event
  and counts ` + "`ChannelWriteFail`" + `. Sluice also counts each refusal in ` + "`ChannelWriteFail`" + `.
- TLS (` + "`ssl`" + ` and the key store properties) works as in Flume's other TLS sources; key stores may be
  JKS, PKCS12 or PEM (see the avro source). The ` + "`FLUME_SSL_*`" + ` environment variables are honoured.`

var tcpNotes = strings.TrimSpace(parseNotes + tcpFramingNotes + `
- ` + "`batchSize`" + ` is a Sluice addition: every complete message already received on a connection
  (up to ` + "`batchSize`" + `) goes to the channels in one transaction; Flume's syslogtcp puts them one
  per transaction.
- Timestamps without a UTC offset are read in the agent's local time zone, as Flume's syslogtcp does.`)

var multiportNotes = strings.TrimSpace(parseNotes + tcpFramingNotes + `
- Header names are those of Flume's multiport source: ` + "`Priority`" + ` and ` + "`Version`" + ` (capitalised;
  ` + "`Version`" + ` only when present), and a nil RFC 5424 timestamp (` + "`-`" + `) gives the time of receipt.
  An Invalid message carries only ` + "`flume.syslog.status`" + `. Timestamps without an offset are read in
  UTC, as Flume's multiport source does.
- Flume's multiport source uses a looser, separate parser; Sluice parses as its syslogtcp does (above).
  Messages Flume's multiport source would mark Invalid for a missing host name get ` + "`Priority`" + `,
  ` + "`Facility`" + ` and ` + "`Severity`" + ` and their whole text instead; an RFC 3164 date Flume cannot read gives
  no ` + "`timestamp`" + ` header rather than 0; RFC 3164 years use the window above (Flume's multiport
  source picks 1969 or 1971 at year ends).
- A message that is not valid in its port's character set is marked Invalid and counted in
  ` + "`EventReadFail`" + `, its bytes kept, as Flume does. Only UTF-8, US-ASCII and ISO-8859-1 are
  supported; the body keeps the bytes sent (Flume re-encodes it in the same character set).
- A port that cannot be bound fails the start; Flume logs it and serves the other ports.
- ` + "`numProcessors`" + ` and ` + "`readBufferBytes`" + ` (` + "`readBufferSize`" + ` in Flume's guide) are accepted and do nothing.`)

var udpNotes = strings.TrimSpace(parseNotes + `
- One datagram is one message; a trailing LF or CRLF is dropped. Datagrams of up to 64 KiB are read
  whole (RFC 5426's limit, which Flume states; Flume's receive buffer actually cuts them at 2048
  bytes). Flume keeps only the first line of a datagram; Sluice keeps all of it.
- UDP cannot push back: when the channels refuse a batch its messages are lost, as in Flume; Sluice
  counts the refusal in ` + "`ChannelWriteFail`" + ` and logs a rate-limited warning. Datagrams already
  read wait in a queue (up to 1024) while a channel is slow, and go to the channels in batches of up
  to 100.
- ` + "`eventSize`" + ` does not apply, as in Flume. Timestamps without a UTC offset are read in the agent's
  local time zone.`)
