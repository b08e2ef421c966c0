package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
)

// sendAvroIPC sends events to addr with Sluice's Go client in appendBatch
// calls of batch events.
func sendAvroIPC(t *testing.T, addr string, events []*sluice.Event, batch int, o avroipc.DialOptions) {
	t.Helper()
	ctx := context.Background()
	o.ConnectTimeout, o.RequestTimeout = 20*time.Second, 30*time.Second
	c, err := avroipc.Dial(ctx, addr, o)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	for i := 0; i < len(events); i += batch {
		if err := c.AppendBatch(ctx, events[i:min(i+batch, len(events))]); err != nil {
			t.Fatalf("appendBatch of events %d..: %v", i, err)
		}
	}
}

// s2fRelay is one relay case of TestSluiceToFlume: Sluice's avro source
// on sluicePort forwards to the shared Flume agent's on flumePort.
type s2fRelay struct {
	v                     variant
	sluicePort, flumePort int
	sendBatch, sinkBatch  int
}

// planSluiceToFlume adds TestSluiceToFlume's pipes to the shared Flume
// agent: avro source → memory → file_roll avro_event, one per variant and
// one per `sluice avro-client` case.
func planSluiceToFlume(sp *sharedPlan) {
	batches := [][2]int{{1000, 100}, {250, 500}, {500, 1000}, {100, 250}}
	for i, v := range variants {
		r := s2fRelay{v: v, sluicePort: sp.port(), flumePort: sp.port(),
			sendBatch: batches[i][0], sinkBatch: batches[i][1]}
		sp.s2f = append(sp.s2f, r)
		sp.pipes = append(sp.pipes, pipe{
			name: "relay_" + v.name, batch: 1000,
			source: avroSource(r.flumePort, v.serverProps()),
			sink:   avroEventRoll(sp.outDir("relay_"+v.name), 1000),
		})
	}
	sp.s2fCli = map[string]int{}
	for _, c := range clientCases() {
		sp.s2fCli[c.name] = sp.port()
		src := avroSource(sp.s2fCli[c.name], nil)
		if c.deflate {
			src["compression-type"] = "deflate"
		}
		sp.pipes = append(sp.pipes, pipe{name: "cli_" + c.name, batch: 1000, source: src,
			sink: avroEventRoll(sp.outDir("cli_"+c.name), 1000)})
	}
}

// TestSluiceToFlume runs Sluice's side as the sender, Flume's avro source
// as the receiver (→ memory → file_roll avro_event):
//
//   - relay/<variant>: Go client (internal/avroipc) → Sluice (avro source
//     → memory → avro sink) → Flume, with Sluice's sink and Flume's source
//     both plain, deflate, TLS (JKS key store at Flume, JKS trust store at
//     Sluice), or deflate and TLS (PKCS12 on both sides);
//   - avro-client/...: `sluice avro-client` straight to Flume's source.
//
// The shared Flume agent and one Sluice agent serve every case.
func TestSluiceToFlume(t *testing.T) {
	dir := t.TempDir()
	sp, _ := sharedFlume(t)
	relays := sp.s2f
	var sluicePipes []pipe
	for _, r := range relays {
		sluicePipes = append(sluicePipes, pipe{
			name: r.v.name, batch: 1000,
			source: avroSource(r.sluicePort, nil),
			sink:   avroSink(r.flumePort, r.sinkBatch, r.v.clientProps(false)),
		})
	}
	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf)
	for _, r := range relays {
		waitPorts(t, addr(r.sluicePort))
	}

	for _, r := range relays {
		t.Run("relay/"+r.v.name, func(t *testing.T) {
			sp.claim(t, "relay_"+r.v.name)
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			sendAvroIPC(t, addr(r.sluicePort), toSluice(events), r.sendBatch, avroipc.DialOptions{})
			waitDrained(t, sp.mon, "k_relay_"+r.v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, sp.outDir("relay_"+r.v.name)), events)
			t.Logf("%d events Go client → Sluice → Flume (%s; send batch %d, Sluice sink batch %d) in %v",
				len(events), r.v.name, r.sendBatch, r.sinkBatch, took.Round(time.Millisecond))
		})
	}

	for _, c := range clientCases() {
		t.Run("avro-client/"+c.name, func(t *testing.T) {
			sp.claim(t, "cli_"+c.name)
			c.run(t, dir, sp.s2fCli[c.name], sp.mon, "k_cli_"+c.name, sp.outDir("cli_"+c.name))
		})
	}
}

// clientCase is one run of `sluice avro-client` against Flume.
type clientCase struct {
	name    string
	deflate bool
	run     func(t *testing.T, dir string, port, mon int, sink, out string)
}
