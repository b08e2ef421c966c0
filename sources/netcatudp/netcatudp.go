// Package netcatudp is the UDP netcat source: each datagram becomes one
// event holding the bytes before its first newline.
package netcatudp

import (
	"errors"
	"strings"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config is the UDP netcat source's configuration.
type Config struct {
	Port int    `flume:"port" required:"true" doc:"UDP port to listen on (0 picks a free port)"`
	Bind string `flume:"bind" doc:"host name or IP address to listen on; empty means every interface"`
	// Flume's guide says remoteAddressHeader, its code reads remoteAddress.
	RemoteAddressHeader string `flume:"remoteAddressHeader" alias:"remoteAddress" doc:"header that receives the sender's address (/ip:port); unset means no header"`
}

// Validate checks the port range.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, conf.Invalid("port", "\"%d\" is not a UDP port (0-65535)", c.Port))
	}
	return errors.Join(errs...)
}

const (
	// maxDatagram is where Flume (Netty's default receive buffer) cuts a
	// datagram.
	maxDatagram = 2048
	// maxBatch bounds the datagrams handed to the channels in one call.
	maxBatch = 100
	// queueLen datagrams wait between the socket reader and the channels,
	// absorbing short channel stalls.
	queueLen = 1024
)

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSource,
		Name:      "netcatudp",
		Aliases:   []string{"org.apache.flume.source.NetcatUdpSource"},
		Stability: sluice.Stable,
		Doc: "Listens on a UDP port and turns each datagram into an event whose body is the " +
			"datagram up to its first newline.",
		Notes: strings.TrimSpace(`
- Datagrams longer than 2048 bytes are cut at 2048 bytes, as Flume does; Sluice also counts them
  in ` + "`EventReadFail`" + ` and logs a warning.
- The sender address header is named by ` + "`remoteAddressHeader`" + ` (Flume's guide) or
  ` + "`remoteAddress`" + ` (what Flume's code reads); both are accepted. Its value is Java's
  ` + "`/ip:port`" + ` (IPv6 as ` + "`/[a:b:c:d:e:f:g:h]:port`" + `). When neither is set, Flume
  stores the address under a null header name; Sluice sets no header.
- UDP has no back-pressure: when the channels refuse a batch its datagrams are lost, as in Flume.
  Sluice counts each refused batch in ` + "`ChannelWriteFail`" + ` and logs a rate-limited warning instead of an
  error per datagram. Datagrams already read are queued (up to 1024) while a channel is slow, and
  are handed over in batches of up to 100.`),
		Example: "a1.sources = r1\na1.channels = c1\n" +
			"a1.sources.r1.type = netcatudp\n" +
			"a1.sources.r1.bind = 0.0.0.0\n" +
			"a1.sources.r1.port = 6667\n" +
			"a1.sources.r1.remoteAddressHeader = remote\n" +
			"a1.sources.r1.channels = c1\n",
		Factory: sluice.MakeFactory(func() *Config { return &Config{} }, New),
	})
}
