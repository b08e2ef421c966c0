package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pipe is one source → memory channel → sink line of an agent's
// configuration; an agent may hold several, one per variant under test.
type pipe struct {
	name   string
	source map[string]string
	sink   map[string]string
	batch  int // transactionCapacity of the channel
}

// agentConf renders pipes as one agent's properties. Every channel is a
// memory channel with room for twice the events of a case.
func agentConf(agent string, pipes []pipe) string {
	var b strings.Builder
	var srcs, chans, sinks []string
	for _, p := range pipes {
		srcs = append(srcs, "r_"+p.name)
		chans = append(chans, "c_"+p.name)
		sinks = append(sinks, "k_"+p.name)
	}
	fmt.Fprintf(&b, "%s.sources = %s\n%s.channels = %s\n%s.sinks = %s\n",
		agent, strings.Join(srcs, " "), agent, strings.Join(chans, " "), agent, strings.Join(sinks, " "))
	for _, p := range pipes {
		b.WriteString("\n")
		writeProps(&b, agent+".sources.r_"+p.name, p.source)
		fmt.Fprintf(&b, "%s.sources.r_%s.channels = c_%s\n", agent, p.name, p.name)
		writeProps(&b, agent+".channels.c_"+p.name, map[string]string{
			"type": "memory", "capacity": "200000", "transactionCapacity": fmt.Sprint(p.batch),
		})
		writeProps(&b, agent+".sinks.k_"+p.name, p.sink)
		fmt.Fprintf(&b, "%s.sinks.k_%s.channel = c_%s\n", agent, p.name, p.name)
	}
	return b.String()
}

func writeProps(b *strings.Builder, prefix string, props map[string]string) {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s.%s = %s\n", prefix, k, props[k])
	}
}

func avroSource(port int, extra map[string]string) map[string]string {
	return merge(map[string]string{"type": "avro", "bind": "127.0.0.1", "port": fmt.Sprint(port)}, extra)
}

func avroSink(port, batch int, extra map[string]string) map[string]string {
	return merge(map[string]string{
		"type": "avro", "hostname": "127.0.0.1", "port": fmt.Sprint(port), "batch-size": fmt.Sprint(batch),
	}, extra)
}

// avroEventRoll is file_roll into dir with the avro_event serializer, one
// file (no time-based rolling).
func avroEventRoll(dir string, batch int) map[string]string {
	return map[string]string{
		"type": "file_roll", "sink.directory": dir, "sink.rollInterval": "0",
		"sink.serializer": "avro_event", "sink.batchSize": fmt.Sprint(batch),
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// variant is one way of running Avro RPC: compressed or not, TLS or not.
type variant struct {
	name         string
	deflate, ssl bool
}

var variants = []variant{
	{"plain", false, false},
	{"deflate", true, false},
	{"ssl", false, true},
	{"deflate_ssl", true, true},
}

// serverProps are an avro source's properties for v. The two TLS variants
// use the JKS and the PKCS12 key store.
func (v variant) serverProps() map[string]string {
	m := map[string]string{}
	if v.deflate {
		m["compression-type"] = "deflate"
	}
	if v.ssl {
		m["ssl"] = "true"
		m["keystore-password"] = storePass
		if v.deflate {
			m["keystore"], m["keystore-type"] = tlsFile("server.p12"), "PKCS12"
		} else {
			m["keystore"], m["keystore-type"] = tlsFile("server.jks"), "JKS"
		}
	}
	return m
}

// clientProps are an avro sink's (or an RPC client's) properties for v:
// TLS alone trusts the JKS trust store, TLS with deflate trusts the PKCS12
// one, or every certificate when trustAll is set (Flume's trust-all-certs).
// Deflate alone compresses at level 1, with TLS at the default level (6):
// Flume's pure-Java JZlib takes long at 6 on random bytes, and the level
// does not change the stream's format.
func (v variant) clientProps(trustAll bool) map[string]string {
	m := map[string]string{}
	if v.deflate {
		m["compression-type"] = "deflate"
		if !v.ssl {
			m["compression-level"] = "1"
		}
	}
	if v.ssl {
		m["ssl"] = "true"
		switch {
		case trustAll:
			m["trust-all-certs"] = "true"
		case v.deflate:
			m["truststore"], m["truststore-type"], m["truststore-password"] = tlsFile("trust.p12"), "PKCS12", storePass
		default:
			m["truststore"], m["truststore-type"], m["truststore-password"] = tlsFile("trust.jks"), "JKS", storePass
		}
	}
	return m
}

// outDir is a file_roll directory under root, created now: Flume's
// file_roll does not create it (Sluice's does).
func outDir(root, name string) string {
	d := filepath.Join(root, "out", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		panic(err)
	}
	return d
}
