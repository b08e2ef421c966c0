// Package netcat is the TCP netcat source: every newline-terminated line a
// client sends becomes one event, and the client is told "OK" once the
// event is committed to the channels.
package netcat

import (
	"errors"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the netcat source's configuration.
type Config struct {
	Bind          string `flume:"bind" required:"true" doc:"host name or IP address to listen on"`
	Port          int    `flume:"port" required:"true" doc:"TCP port to listen on (0 picks a free port)"`
	MaxLineLength int    `flume:"max-line-length" doc:"longest accepted line in characters, counting the newline"`
	AckEveryEvent bool   `flume:"ack-every-event" doc:"reply OK for every committed event"`
	Encoding      string `flume:"encoding" doc:"character set of the input: utf-8, us-ascii or iso-8859-1"`

	MaxBytesInFlight int64 `flume:"max-bytes-in-flight" doc:"Sluice extension: bytes all connections together may hold for lines being assembled; a connection whose line needs more waits up to 10 s for room, then is closed. 0: a quarter of GOMEMLIMIT when set, else 256 MiB"`
}

func defaults() *Config {
	return &Config{MaxLineLength: 512, AckEveryEvent: true, Encoding: "utf-8"}
}

// Validate checks ranges and the encoding.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a TCP port (0-65535)", c.Port))
	}
	if c.MaxLineLength < 1 {
		errs = append(errs, conf.Invalid("max-line-length", "\"%d\" must be at least 1", c.MaxLineLength))
	}
	if c.MaxBytesInFlight < 0 {
		errs = append(errs, conf.Invalid("max-bytes-in-flight", "\"%d\" must not be negative", c.MaxBytesInFlight))
	}
	if _, ok := lookupEncoding(c.Encoding); !ok {
		errs = append(errs, conf.Invalid("encoding", "%q is not supported (use utf-8, us-ascii or iso-8859-1)", c.Encoding))
	}
	return errors.Join(errs...)
}

// maxBatch bounds how many buffered lines of one connection go to the
// channels in one Process call.
const maxBatch = 1000

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "netcat",
		Aliases:   []string{"org.apache.flume.source.NetcatSource"},
		Stability: sluice.Stable,
		Doc: "Listens on a TCP port and turns every newline-terminated line into an event, " +
			"like `nc -k -l host port`. Each event is acknowledged with `OK` once the channels " +
			"committed it.",
		Notes: strings.TrimSpace(`
- Replies are Flume's: ` + "`OK\\n`" + ` per committed event (when ` + "`ack-every-event`" + ` is true),
  ` + "`FAILED: <reason>\\n`" + ` per event when the channels refuse it (the connection stays open),
  and ` + "`FAILED: Event exceeds the maximum length (N chars, including newline)\\n`" + ` followed by
  closing the connection for an over-long line. No OK is ever sent before the commit.
- Flume commits one event per transaction. Sluice hands all complete lines already received on
  a connection (up to 1000) to the channels in one batch and then writes their replies together,
  which is much faster and keeps the one-reply-per-line protocol.
- ` + "`max-line-length`" + ` counts characters (UTF-16 units, as Flume's code does) including the
  newline; Flume's guide says bytes. A ` + "`\\r`" + ` before the newline stays in the body, as in Flume.
- A partial line left when the client closes the connection is dropped, as in Flume, but Sluice
  logs it and counts it in ` + "`EventReadFail`" + ` instead of losing it silently.
- Bytes that are not valid in the ` + "`encoding`" + ` are kept as they are in the body; Flume closes
  the connection on them. Only utf-8, us-ascii and iso-8859-1 (converted to UTF-8) are supported.
- Bounds Flume lacks: each connection starts with a 1 KiB buffer, grown (to 64 KiB, or
  3 × ` + "`max-line-length`" + ` bytes for a longer line) only as its data needs, so idle connections
  cost little; ` + "`max-bytes-in-flight`" + ` is one budget for the buffers beyond that first KiB, shared by
  all connections, as the avro source's is for frames. A connection whose unfinished line needs
  more waits up to 10 s for room and is then told ` + "`FAILED: ...`" + ` and closed (counted in
  ` + "`EventReadFail`" + `); a busy connection that merely could read more at once keeps its smaller
  buffer. Default: a quarter of GOMEMLIMIT when set, else 256 MiB. Over-long lines, refusals and
  partial lines at close are logged at most once per 10 s with the number held back.
- Flume's netcat source reports no counters; Sluice reports ` + "`OpenConnectionCount`" + `,
  ` + "`EventReadFail`" + ` and the channel counters.`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = netcat\n" +
			"a1.sources.r1.bind = 0.0.0.0\n" +
			"a1.sources.r1.port = 6666\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(defaults, New),
	})
}
