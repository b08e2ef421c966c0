package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/flumethrift"
	"github.com/sluiceio/sluice/test/peers"
)

// thriftVariant is one way of running Flume's Thrift RPC: the compact or
// binary protocol, with or without TLS.
type thriftVariant struct {
	name     string
	protocol string
	ssl      bool
}

var thriftVariants = []thriftVariant{
	{"compact", "compact", false},
	{"binary", "binary", false},
	{"compact_ssl", "compact", true},
	{"binary_ssl", "binary", true},
}

// serverProps are a thrift source's properties: compact+TLS uses the JKS
// key store, binary+TLS the PKCS12 one.
func (v thriftVariant) serverProps(port int) map[string]string {
	m := map[string]string{"type": "thrift", "bind": "127.0.0.1", "port": fmt.Sprint(port), "protocol": v.protocol}
	if v.ssl {
		m["ssl"], m["keystore-password"] = "true", storePass
		if v.protocol == "binary" {
			m["keystore"], m["keystore-type"] = tlsFile("server.p12"), "PKCS12"
		} else {
			m["keystore"], m["keystore-type"] = tlsFile("server.jks"), "JKS"
		}
	}
	return m
}

// clientProps are a thrift sink's (or Flume's thrift RPC client's)
// properties without the address.
func (v thriftVariant) clientProps(batch int) map[string]string {
	m := map[string]string{"batch-size": fmt.Sprint(batch), "protocol": v.protocol}
	if v.ssl {
		m["ssl"], m["truststore-password"] = "true", storePass
		if v.protocol == "binary" {
			m["truststore"], m["truststore-type"] = tlsFile("trust.p12"), "PKCS12"
		} else {
			m["truststore"], m["truststore-type"] = tlsFile("trust.jks"), "JKS"
		}
	}
	return m
}

func thriftSink(port, batch int, v thriftVariant) map[string]string {
	return merge(map[string]string{"type": "thrift", "hostname": "127.0.0.1", "port": fmt.Sprint(port)}, v.clientProps(batch))
}

// sendThrift sends events to addr with Sluice's Go client (compact, plain)
// in appendBatch calls of batch events.
func sendThrift(t *testing.T, addr string, events []*sluice.Event, batch int) {
	t.Helper()
	ctx := context.Background()
	c, err := flumethrift.Dial(ctx, addr, flumethrift.DialOptions{ConnectTimeout: 20 * time.Second, RequestTimeout: 30 * time.Second})
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

// thriftPorts are one thrift variant's ports: flumeIn (the shared Flume
// agent's avro source, whose thrift sink sends to sluiceIn), sluiceRelay
// (Sluice's source, whose thrift sink sends to flumeOut) and sdk (Sluice's
// source for Flume's RpcClient).
type thriftPorts struct{ flumeIn, sluiceIn, sluiceRelay, flumeOut, sdk int }

// planThrift adds TestThrift's pipes to the shared Flume agent, per
// variant: fs_<v> (avro source → memory → thrift sink to Sluice) and sf_<v>
// (thrift source → memory → file_roll avro_event).
func planThrift(sp *sharedPlan) {
	sp.thrift = map[string]thriftPorts{}
	for _, v := range thriftVariants {
		pp := thriftPorts{sp.port(), sp.port(), sp.port(), sp.port(), sp.port()}
		sp.thrift[v.name] = pp
		sp.pipes = append(sp.pipes,
			pipe{name: "fs_" + v.name, batch: 1000, source: avroSource(pp.flumeIn, nil), sink: thriftSink(pp.sluiceIn, 1000, v)},
			pipe{name: "sf_" + v.name, batch: 1000, source: v.serverProps(pp.flumeOut), sink: avroEventRoll(sp.outDir("sf_"+v.name), 1000)})
	}
}

// TestThrift runs Flume's Thrift RPC against the real Flume 1.11, in every
// variant (compact, binary, each plain and with TLS):
//
//   - flume_to_sluice/<v>: StreamSend → Flume (avro source → memory →
//     thrift sink) → Sluice (thrift source → memory → file_roll
//     avro_event);
//   - sluice_to_flume/<v>: Go client → Sluice (thrift source → memory →
//     thrift sink) → Flume (thrift source → memory → file_roll avro_event);
//   - sdk/<v>: Flume's thrift RpcClient (client.type = thrift, in
//     StreamSend) straight to Sluice's thrift source;
//   - sdk/append: the same client's append, one call per event (2,000).
//
// Each case moves 100,000 events with random headers and binary bodies and
// compares them byte for byte. The shared Flume agent and one Sluice agent
// serve every case, each pipe on its own ports, channel and output
// directory.
func TestThrift(t *testing.T) {
	dir := t.TempDir()
	mon := peers.FreePort(t)
	sp := planShared(t)
	p := sp.thrift

	var sluicePipes []pipe
	for _, v := range thriftVariants {
		pp := p[v.name]
		sluicePipes = append(sluicePipes,
			// Flume → Sluice.
			pipe{name: "fs_" + v.name, batch: 1000,
				source: v.serverProps(pp.sluiceIn), sink: avroEventRoll(outDir(dir, "fs_"+v.name), 1000)},
			// Sluice → Flume.
			pipe{name: "sf_" + v.name, batch: 1000,
				source: thriftVariants[0].serverProps(pp.sluiceRelay), sink: thriftSink(pp.flumeOut, 500, v)},
			// Flume's RpcClient → Sluice.
			pipe{name: "sdk_" + v.name, batch: 1000,
				source: v.serverProps(pp.sdk), sink: avroEventRoll(outDir(dir, "sdk_"+v.name), 1000)})
	}

	appendPort := peers.FreePort(t)
	sluicePipes = append(sluicePipes, pipe{name: "sdk_append", batch: 1000,
		source: thriftVariants[0].serverProps(appendPort), sink: avroEventRoll(outDir(dir, "sdk_append"), 500)})

	conf := writeFile(t, filepath.Join(dir, "sluice.conf"), []byte(agentConf("a1", sluicePipes)))
	startAgent(t, dir, "a1", conf, monitorFlags(mon)...)
	var sluiceAddrs []string
	for _, q := range sluicePipes {
		sluiceAddrs = append(sluiceAddrs, q.source["bind"]+":"+q.source["port"])
	}
	waitPorts(t, sluiceAddrs...)
	sharedFlume(t)

	for _, v := range thriftVariants {
		t.Run("flume_to_sluice/"+v.name, func(t *testing.T) {
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			props := peers.FlumeClientProps("default", addr(p[v.name].flumeIn))
			props["batch-size"] = "1000"
			flumeSendAll(t, props, events)
			waitDrained(t, mon, "k_fs_"+v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, outDir(dir, "fs_"+v.name)), events)
			t.Logf("%d events StreamSend → Flume → thrift sink (%s) → Sluice in %v", len(events), v.name, took.Round(time.Millisecond))
		})
	}
	for _, v := range thriftVariants {
		t.Run("sluice_to_flume/"+v.name, func(t *testing.T) {
			sp.claim(t, "sf_"+v.name)
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			sendThrift(t, addr(p[v.name].sluiceRelay), toSluice(events), 1000)
			waitDrained(t, sp.mon, "k_sf_"+v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, sp.outDir("sf_"+v.name)), events)
			t.Logf("%d events Go client → Sluice → thrift sink (%s) → Flume in %v", len(events), v.name, took.Round(time.Millisecond))
		})
	}
	for _, v := range thriftVariants {
		t.Run("sdk/"+v.name, func(t *testing.T) {
			events := genEvents(seed(t), numEvents)
			start := time.Now()
			props := merge(peers.FlumeClientProps("thrift", addr(p[v.name].sdk)), v.clientProps(500))
			flumeSendAll(t, props, events)
			waitDrained(t, mon, "k_sdk_"+v.name, len(events), time.Minute)
			took := time.Since(start)
			sameEvents(t, readEvents(t, outDir(dir, "sdk_"+v.name)), events)
			t.Logf("%d events Flume's thrift RpcClient (%s, batch 500) → Sluice in %v", len(events), v.name, took.Round(time.Millisecond))
		})
	}

	// One append call per event (Flume's RpcClient.append): fewer events,
	// since each is a round trip.
	t.Run("sdk/append", func(t *testing.T) {
		events := genEvents(seed(t), 2000)
		props := peers.FlumeClientProps("thrift", addr(appendPort))
		props["flumesend.mode"] = "append"
		if out := peers.FlumeSend(t, props, events); !strings.Contains(out, "sent 2000 events in 2000 calls (append)") {
			t.Fatalf("FlumeSend output:\n%s", out)
		}
		waitDrained(t, mon, "k_sdk_append", len(events), time.Minute)
		sameEvents(t, readEvents(t, outDir(dir, "sdk_append")), events)
	})
}
