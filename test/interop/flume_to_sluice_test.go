package interop

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// flumeSendAll sends events with Flume's RpcClient (client SDK 1.11.0)
// configured by props: StreamSend.java, which is FlumeSend reading its event
// file one batch at a time, so that one JVM with the 128 MiB heap
// peers.RunJava gives it can send 100,000 events of up to 2 KiB.
func flumeSendAll(t *testing.T, props map[string]string, events []peers.Event) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "events.fsnd"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := peers.WriteEventFile(w, events); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	args := []string{f.Name()}
	for _, k := range sortedKeys(props) {
		args = append(args, k+"="+props[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), peers.ClientTimeout)
	defer cancel()
	code, out, err := peers.RunJava(ctx, "flume", filepath.Join(repoRoot(), "test", "interop", "StreamSend.java"), args...)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(out, fmt.Sprintf("sent %d events", len(events))) {
		t.Fatalf("StreamSend exit %d:\n%s", code, out)
	}
}

// f2sRelay is one relay case of TestFlumeToSluice: the shared Flume
// agent's avro source on flumePort forwards to Sluice's on sluicePort.
type f2sRelay struct {
	v                     variant
	flumePort, sluicePort int
	sendBatch, sinkBatch  int
}

// planFlumeToSluice adds TestFlumeToSluice's pipes to the shared Flume
// agent: avro source → memory → avro sink to Sluice, one per variant. The
// sink trusts the JKS trust store for "ssl" and every certificate for
// "deflate_ssl".
func planFlumeToSluice(sp *sharedPlan) {
	batches := [][2]int{{100, 1000}, {500, 250}, {1000, 500}, {250, 1000}}
	for i, v := range variants {
		r := f2sRelay{v: v, flumePort: sp.port(), sluicePort: sp.port(),
			sendBatch: batches[i][0], sinkBatch: batches[i][1]}
		sp.f2s = append(sp.f2s, r)
		sp.pipes = append(sp.pipes, pipe{
			name: "to_sluice_" + v.name, batch: 1000,
			source: avroSource(r.flumePort, nil),
			sink:   avroSink(r.sluicePort, r.sinkBatch, v.clientProps(v.deflate)),
		})
	}
}

// TestFlumeToSluice runs Flume's side as the sender:
//
//   - relay/<variant>: FlumeSend → Flume (avro source → memory → avro sink)
//     → Sluice (avro source → memory → file_roll avro_event), with the
//     Flume sink and the Sluice source both plain, deflate, TLS, or
//     deflate and TLS;
//   - FlumeSend/<plain|deflate|append>: Flume's RpcClient straight to
//     Sluice's avro source (appendBatch calls, or one append per event);
//   - avro-client: Flume's `flume-ng avro-client` with a file of text
//     lines and a header file.
//
// The shared Flume agent and one Sluice agent serve every case, each on
// its own ports, channels and output directory.
func TestFlumeToSluice(t *testing.T) {
	dir := t.TempDir()
	mon := peers.FreePort(t)
	relays := planShared(t).f2s
	var sluicePipes []pipe
	for _, r := range relays {
		sluicePipes = append(sluicePipes, pipe{
			name: "relay_" + r.v.name, batch: 1000,
			source: avroSource(r.sluicePort, r.v.serverProps()),
			sink:   avroEventRoll(outDir(dir, "relay_"+r.v.name), 1000),
		})
	}
	direct := map[string]int{}
	for _, name := range []string{"fs_plain", "fs_deflate", "fs_append", "cli"} {
		direct[name] = peers.FreePort(t)
		src := avroSource(direct[name], nil)
		if name == "fs_deflate" {
			src["compression-type"] = "deflate"
		}
		sluicePipes = append(sluicePipes, pipe{name: name, batch: 1000, source: src,
			sink: avroEventRoll(outDir(dir, name), 500)})
	}

	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf, monitorFlags(mon)...)
	var sluiceAddrs []string
	for _, p := range sluicePipes {
		sluiceAddrs = append(sluiceAddrs, p.source["bind"]+":"+p.source["port"])
	}
	waitPorts(t, sluiceAddrs...)

	sharedFlume(t)

	for _, r := range relays {
		t.Run("relay/"+r.v.name, func(t *testing.T) {
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			props := peers.FlumeClientProps("default", addr(r.flumePort))
			props["batch-size"] = fmt.Sprint(r.sendBatch)
			flumeSendAll(t, props, events)
			waitDrained(t, mon, "k_relay_"+r.v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, outDir(dir, "relay_"+r.v.name)), events)
			t.Logf("%d events FlumeSend → Flume → Sluice (%s; send batch %d, Flume sink batch %d) in %v",
				len(events), r.v.name, r.sendBatch, r.sinkBatch, took.Round(time.Millisecond))
		})
	}

	for _, c := range []struct {
		name    string
		deflate bool
	}{{"plain", false}, {"deflate", true}} {
		t.Run("FlumeSend/"+c.name, func(t *testing.T) {
			pipeName := "fs_" + c.name
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			props := peers.FlumeClientProps("default", addr(direct[pipeName]))
			props["batch-size"] = "500"
			if c.deflate {
				// Level 1: the sender runs C1-compiled only (RunJava's
				// FastStartFlags), where JZlib at level 6 takes a minute.
				props["compression-type"], props["compression-level"] = "deflate", "1"
			}
			flumeSendAll(t, props, events)
			waitDrained(t, mon, "k_"+pipeName, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, outDir(dir, pipeName)), events)
			t.Logf("%d events FlumeSend (%s, batch 500) → Sluice in %v", len(events), c.name, took.Round(time.Millisecond))
		})
	}

	// One append call per event (what Flume's RpcClient.append does): fewer
	// events, since each is a round trip.
	t.Run("FlumeSend/append", func(t *testing.T) {
		events := genEvents(seed(t), 2000)
		start := time.Now()
		props := peers.FlumeClientProps("default", addr(direct["fs_append"]))
		props["flumesend.mode"] = "append"
		if out := peers.FlumeSend(t, props, events); !strings.Contains(out, "sent 2000 events in 2000 calls (append)") {
			t.Fatalf("FlumeSend output:\n%s", out)
		}
		waitDrained(t, mon, "k_fs_append", len(events), time.Minute)
		took := time.Since(start)
		sameEvents(t, readEvents(t, outDir(dir, "fs_append")), events)
		t.Logf("%d events FlumeSend (one append call each) → Sluice in %v", len(events), took.Round(time.Millisecond))
	})

	t.Run("avro-client", func(t *testing.T) {
		// Flume's avro-client reads the file with the JVM's default charset:
		// make it UTF-8 whatever the locale.
		t.Setenv("JAVA_TOOL_OPTIONS", "-Dfile.encoding=UTF-8")
		tmp := t.TempDir()
		text, bodies := textLines(seed(t), numEvents)
		in := mustWrite(t, filepath.Join(tmp, "lines.txt"), text)
		hdr := mustWrite(t, filepath.Join(tmp, "headers.properties"), javaProps(cliHeaders))
		// -P: the RPC client's properties (-H/-p would fix the batch at 5).
		props := mustWrite(t, filepath.Join(tmp, "rpc.properties"), []byte(fmt.Sprintf(
			"client.type = default\nhosts = h1\nhosts.h1 = %s\nbatch-size = 1000\n", addr(direct["cli"]))))
		start := time.Now()
		code, out := peers.RunFlumeAvroClient(t, "127.0.0.1", direct["cli"], "-P", props, "-F", in, "-R", hdr)
		if err := peers.AvroClientError(out); code != 0 || err != nil {
			t.Fatalf("avro-client exit %d, %v:\n%s", code, err, out)
		}
		waitDrained(t, mon, "k_cli", numEvents, time.Minute)
		took := time.Since(start)
		sameEvents(t, readEvents(t, outDir(dir, "cli")), linesWithHeaders(bodies, cliHeaders))
		t.Logf("%d lines Flume avro-client (-F, -R, -P batch-size 1000) → Sluice in %v", numEvents, took.Round(time.Millisecond))
	})
}
