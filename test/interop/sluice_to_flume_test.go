package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/test/peers"
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

// TestSluiceToFlume runs Sluice's side as the sender, Flume's avro source
// as the receiver (→ memory → file_roll avro_event):
//
//   - relay/<variant>: Go client (internal/avroipc) → Sluice (avro source
//     → memory → avro sink) → Flume, with Sluice's sink and Flume's source
//     both plain, deflate, TLS (JKS key store at Flume, JKS trust store at
//     Sluice), or deflate and TLS (PKCS12 on both sides);
//   - avro-client/...: `sluice avro-client` straight to Flume's source.
//
// One Flume and one Sluice agent serve every case.
func TestSluiceToFlume(t *testing.T) {
	dir := t.TempDir()
	flumeMon := peers.FreePort(t)

	type relay struct {
		v                     variant
		sluicePort, flumePort int
		sendBatch, sinkBatch  int
	}
	var relays []relay
	var sluicePipes, flumePipes []pipe
	batches := [][2]int{{1000, 100}, {250, 500}, {500, 1000}, {100, 250}}
	for i, v := range variants {
		r := relay{v: v, sluicePort: peers.FreePort(t), flumePort: peers.FreePort(t),
			sendBatch: batches[i][0], sinkBatch: batches[i][1]}
		relays = append(relays, r)
		sluicePipes = append(sluicePipes, pipe{
			name: v.name, batch: 1000,
			source: avroSource(r.sluicePort, nil),
			sink:   avroSink(r.flumePort, r.sinkBatch, v.clientProps(false)),
		})
		flumePipes = append(flumePipes, pipe{
			name: "relay_" + v.name, batch: 1000,
			source: avroSource(r.flumePort, v.serverProps()),
			sink:   avroEventRoll(outDir(dir, "relay_"+v.name), 1000),
		})
	}
	clients := clientCases()
	cliPorts := map[string]int{}
	for _, c := range clients {
		cliPorts[c.name] = peers.FreePort(t)
		src := avroSource(cliPorts[c.name], nil)
		if c.deflate {
			src["compression-type"] = "deflate"
		}
		flumePipes = append(flumePipes, pipe{name: "cli_" + c.name, batch: 1000, source: src,
			sink: avroEventRoll(outDir(dir, "cli_"+c.name), 1000)})
	}

	var flumeAddrs []string
	for _, p := range flumePipes {
		flumeAddrs = append(flumeAddrs, p.source["bind"]+":"+p.source["port"])
	}
	fl := peers.StartFlume(t, peers.FlumeOptions{
		// No FastStartFlags: this JVM takes in 700 MB, through TLS and JZlib.
		Conf: agentConf("a1", flumePipes), Heap: "512m", ReadyAddr: flumeAddrs[0],
		JVMFlags: monitorFlags(flumeMon),
	})
	waitFlumeSources(t, fl, flumePipes)
	waitPorts(t, flumeAddrs...)

	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf)
	for _, r := range relays {
		waitPorts(t, addr(r.sluicePort))
	}

	for _, r := range relays {
		t.Run("relay/"+r.v.name, func(t *testing.T) {
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			sendAvroIPC(t, addr(r.sluicePort), toSluice(events), r.sendBatch, avroipc.DialOptions{})
			waitDrained(t, flumeMon, "k_relay_"+r.v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, outDir(dir, "relay_"+r.v.name)), events)
			t.Logf("%d events Go client → Sluice → Flume (%s; send batch %d, Sluice sink batch %d) in %v",
				len(events), r.v.name, r.sendBatch, r.sinkBatch, took.Round(time.Millisecond))
		})
	}

	for _, c := range clients {
		t.Run("avro-client/"+c.name, func(t *testing.T) {
			c.run(t, dir, cliPorts[c.name], flumeMon, "k_cli_"+c.name, outDir(dir, "cli_"+c.name))
		})
	}
}

// clientCase is one run of `sluice avro-client` against Flume.
type clientCase struct {
	name    string
	deflate bool
	run     func(t *testing.T, dir string, port, mon int, sink, out string)
}
