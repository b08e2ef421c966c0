package interop

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// TestSyslogSourcesMatchFlume sends the same syslog messages to Apache
// Flume 1.11's syslogtcp (plain and with keepFields), multiport_syslogtcp
// and syslogudp sources and to Sluice's (each → memory → file_roll
// avro_event), and checks that both made the same events, headers and
// bodies byte for byte: RFC 5424 and RFC 3164 messages, a nil timestamp,
// messages without a priority or with a bad one (Invalid), a header that is
// neither RFC, and a message longer than eventSize (Incomplete, then the
// rest as Invalid). Messages where Sluice documents a difference are left
// out of the pipes that differ (a nil timestamp or a header that is neither
// RFC on the multiport source, a nil timestamp kept in the body).
func TestSyslogSourcesMatchFlume(t *testing.T) {
	dir := t.TempDir()
	smon := peers.FreePort(t)
	// An RFC 3164 time an hour ago: both read it in the local zone, and
	// Flume's multiport source only guesses the year right near now.
	stamp3164 := time.Now().Add(-time.Hour).Format("Jan _2 15:04:05")
	msgs := map[string]string{
		"5424":    "<34>1 2003-10-11T22:14:15Z mymachine.example.com su - ID47 - BOM'su root' failed",
		"offset":  "<165>1 2003-08-24T05:14:15-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
		"3164":    "<13>" + stamp3164 + " web1 app[12]: hello 3164",
		"nilTime": "<13>1 - host3 app - - nil stamp",
		"noPri":   "no priority at all",
		"badPri":  "<10F> bad bad data",
		"neither": "<10>Good good good data",
		"long":    "<13>1 2003-10-11T22:14:15Z host9 app - - " + strings.Repeat("x", 150),
	}
	srcs := syslogSources()
	sp := planShared(t)
	ports := map[string]map[string]int{"flume": sp.syslog, "sluice": {}}
	var sluicePipes []pipe
	for _, s := range srcs {
		port := peers.FreePort(t)
		ports["sluice"][s.name] = port
		sluicePipes = append(sluicePipes, pipe{name: s.name, batch: 100,
			source: s.source(port), sink: avroEventRoll(outDir(dir, "sluice_"+s.name), 1)})
	}
	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf, monitorFlags(smon)...)
	sharedFlume(t)
	for _, side := range []string{"flume", "sluice"} {
		for _, s := range srcs {
			if !s.udp {
				waitPorts(t, addr(ports[side][s.name]))
			}
		}
	}
	mon := map[string]int{"flume": sp.mon, "sluice": smon}
	sink := map[string]string{"flume": "k_sl_", "sluice": "k_"}

	for _, s := range srcs {
		sp.claim(t, "sl_"+s.name)
		want := 0
		for _, side := range []string{"flume", "sluice"} {
			a := addr(ports[side][s.name])
			if s.udp {
				c, err := net.Dial("udp", a)
				if err != nil {
					t.Fatal(err)
				}
				for i, m := range s.send {
					if _, err := c.Write([]byte(msgs[m])); err != nil {
						t.Fatalf("%s %s: %v", side, s.name, err)
					}
					// One at a time: UDP may reorder or drop a burst.
					waitDrained(t, mon[side], sink[side]+s.name, i+1, 30*time.Second)
				}
				c.Close()
				want = len(s.send)
				continue
			}
			c, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			want = 0
			for _, m := range s.send {
				b.WriteString(msgs[m] + "\n")
				want++
				if m == "long" {
					want++ // cut in two
				}
			}
			if _, err := c.Write([]byte(b.String())); err != nil {
				t.Fatalf("%s %s: %v", side, s.name, err)
			}
			// Flume's syslogtcp drops what a connection closed too early
			// still held: close once the events arrived.
			waitDrained(t, mon[side], sink[side]+s.name, want, 30*time.Second)
			c.Close()
		}
		flumeEvents, sluiceEvents := readEvents(t, sp.outDir("sl_"+s.name)), readEvents(t, outDir(dir, "sluice_"+s.name))
		if len(flumeEvents) != want {
			t.Fatalf("%s: Flume made %d events, want %d", s.name, len(flumeEvents), want)
		}
		// Flume's syslogtcp/syslogudp parser does not reset priority and
		// version between messages: an Invalid or unparsed message carries
		// the previous one's (a documented difference). Compare without
		// them where Sluice, rightly, sets none.
		for i := range min(len(flumeEvents), len(sluiceEvents)) {
			if _, ok := sluiceEvents[i].Headers["priority"]; !ok && s.name != "multi" {
				delete(flumeEvents[i].Headers, "priority")
				delete(flumeEvents[i].Headers, "version")
			}
		}
		sameEvents(t, sluiceEvents, flumeEvents)
		t.Logf("%s: the same %d events from Flume and Sluice", s.name, len(flumeEvents))
	}
}

// syslogSource is one source of TestSyslogSourcesMatchFlume: the same
// properties at Flume and at Sluice, and the messages it gets.
type syslogSource struct {
	name  string
	props map[string]string
	udp   bool
	send  []string
}

func syslogSources() []syslogSource {
	all := []string{"5424", "offset", "3164", "nilTime", "noPri", "badPri", "neither", "long"}
	return []syslogSource{
		{name: "tcp", props: map[string]string{"type": "syslogtcp", "eventSize": "120"}, send: all},
		{name: "keep", props: map[string]string{"type": "syslogtcp", "eventSize": "120", "keepFields": "timestamp hostname"},
			send: []string{"5424", "offset", "3164", "noPri", "badPri", "neither", "long"}},
		{name: "multi", props: map[string]string{"type": "multiport_syslogtcp", "eventSize": "120"},
			send: []string{"5424", "offset", "3164", "noPri", "badPri", "long"}},
		{name: "udp", props: map[string]string{"type": "syslogudp"}, udp: true,
			send: []string{"5424", "offset", "3164", "nilTime", "noPri", "badPri", "neither"}},
	}
}

// source is the source's properties on port.
func (s syslogSource) source(port int) map[string]string {
	portKey := "port"
	if s.props["type"] == "multiport_syslogtcp" {
		portKey = "ports"
	}
	return merge(s.props, map[string]string{"host": "127.0.0.1", portKey: fmt.Sprint(port)})
}

// planSyslog adds TestSyslogSourcesMatchFlume's pipes to the shared Flume
// agent: sl_<source>, syslog source → memory → file_roll avro_event (one
// event per file_roll batch, so each is written at once).
func planSyslog(sp *sharedPlan) {
	sp.syslog = map[string]int{}
	for _, s := range syslogSources() {
		sp.syslog[s.name] = sp.port()
		sp.pipes = append(sp.pipes, pipe{name: "sl_" + s.name, batch: 100,
			source: s.source(sp.syslog[s.name]), sink: avroEventRoll(sp.outDir("sl_"+s.name), 1)})
	}
}
