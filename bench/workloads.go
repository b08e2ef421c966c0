package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// memoryChannel is the memory channel c1 every memory workload uses.
const memoryChannel = `a1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
`

// memoryNull is c1 drained by a null sink.
const memoryNull = memoryChannel + `a1.sinks = k1
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 1000
a1.sinks.k1.channel = c1
`

// Workloads are the benchmark configurations of this release: two
// generator-driven baselines (seq, stress), then the six the performance
// goals are stated for: netcat → memory → null; avro at batch 100 and
// 1000; the two-tier avro hop; avro → file channel → null; a large
// spooled file → memory → file_roll (and → null, the source alone); and
// the idle agent.
func Workloads() []Workload {
	var out []Workload
	out = append(out, []Workload{
		{
			Name: "seq → memory → null (decimal bodies)",
			Conf: func(p Ports) string {
				return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = seq\na1.sources.r1.batchSize = 1000\n"+
					"a1.sources.r1.totalEvents = %d\na1.sources.r1.channels = c1\n", p.Events) + memoryNull
			},
			BodySize: 7, // mean length of the decimal counter for 1e6..1e7 events
			SinkKey:  "CHANNEL.c1",
		},
		{
			Name: "stress → memory → null, 100-byte bodies",
			Conf: func(p Ports) string {
				return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = org.apache.flume.source.StressSource\n"+
					"a1.sources.r1.size = 100\na1.sources.r1.batchSize = 1000\n"+
					"a1.sources.r1.maxTotalEvents = %d\na1.sources.r1.channels = c1\n", p.Events) + memoryNull
			},
			BodySize: 100,
			SinkKey:  "CHANNEL.c1",
		},
		{
			Name: "netcat → memory → null, 100-byte lines",
			Conf: func(p Ports) string {
				return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"+
					"a1.sources.r1.port = %d\na1.sources.r1.channels = c1\n", p.Source) + memoryNull
			},
			Load:     NetcatLoad(4),
			BodySize: 100,
			SinkKey:  "CHANNEL.c1",
		},
	}...)
	out[2].Goal = 1 // netcat
	for _, w := range avroWorkloads() {
		w.Goal = 2
		if len(w.Agents) > 1 {
			w.Goal = 3 // the tier hop
		}
		out = append(out, w)
	}
	out = append(out, thriftWorkloads()...)
	durable, roll, idle := DurableWorkload().Workload, SpoolRoll(), IdleWorkload()
	durable.Goal, roll.Goal, idle.Goal = 4, 5, 6
	out = append(out, HTTPWorkload(8, 100))
	out = append(out, SyslogWorkload(4))
	out = append(out, kafkaWorkloads()...)
	out = append(out, ElasticsearchWorkload())
	out = append(out, pluginWorkloads()...)
	out = append(out, hdfsWorkloads()...)
	out = append(out, HBaseWorkload())
	return append(out, durable, roll, SpoolDir(), idle)
}

// DurableWorkload is avro (4 connections, batch 1000) → file channel →
// null, with the commit size its fsync baseline is measured at. Flume's
// file channel fsyncs every commit, so the event count is capped to keep
// its runs to a minute or so; the rest of the file-channel matrix is
// cmd/sluice-filebench.
func DurableWorkload() FileCase {
	w := AvroFileNull(1000, 100)
	w.MaxEvents = 500_000
	return FileCase{Workload: w, Batch: 1000}
}

// IdleWorkload is an agent with three sources, three channels and three
// sinks receiving nothing: what it costs to have the agent running.
func IdleWorkload() Workload {
	return Workload{
		Name: "idle: 3 netcat sources, 3 memory channels, 3 logger sinks",
		Idle: true,
		Conf: func(p Ports) string {
			var b strings.Builder
			b.WriteString("a1.sources = r1 r2 r3\na1.channels = c1 c2 c3\na1.sinks = k1 k2 k3\n")
			for i := 1; i <= 3; i++ {
				fmt.Fprintf(&b, "a1.sources.r%d.type = netcat\na1.sources.r%d.bind = 127.0.0.1\n", i, i)
				fmt.Fprintf(&b, "a1.sources.r%d.port = %d\na1.sources.r%d.channels = c%d\n", i, freePort(), i, i)
				fmt.Fprintf(&b, "a1.channels.c%d.type = memory\na1.channels.c%d.capacity = 10000\n", i, i)
				fmt.Fprintf(&b, "a1.sinks.k%d.type = logger\na1.sinks.k%d.channel = c%d\n", i, i, i)
			}
			return b.String()
		},
		SinkKey: "CHANNEL.c1",
	}
}

// NetcatLoad sends events as 100-byte lines over conns connections, each
// pipelined: one goroutine writes, one reads the OK acks. Every ack must be
// OK, and every line must be acked.
func NetcatLoad(conns int) func(ctx context.Context, p Ports, events, bodySize int) error {
	return func(ctx context.Context, p Ports, events, bodySize int) error {
		addr := fmt.Sprintf("127.0.0.1:%d", p.Source)
		return perConn(conns, events, func(id, n int) error { return netcatConn(ctx, addr, id, n, bodySize) })
	}
}

// perConn runs send on conns goroutines, connection id sending n of the
// events (the last one the remainder), and joins their errors.
func perConn(conns, events int, send func(id, n int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	per := events / conns
	for i := 0; i < conns; i++ {
		n := per
		if i == conns-1 {
			n = events - per*(conns-1)
		}
		wg.Add(1)
		go func(id, n int) {
			defer wg.Done()
			if err := send(id, n); err != nil {
				errs <- err
			}
		}(i, n)
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for e := range ch {
		out = append(out, e)
	}
	return out
}

func line(id, bodySize int) []byte {
	b := bytes.Repeat([]byte{'x'}, bodySize)
	copy(b, fmt.Sprintf("conn%d ", id))
	return append(b, '\n')
}

func netcatConn(ctx context.Context, addr string, id, n, bodySize int) error {
	var c net.Conn
	var err error
	// Up to 30 s: a JVM agent starts slowly. Retried often, so the time to
	// the first event measures the agent and not this loop.
	for try := 0; try < 15000; try++ {
		c, err = net.Dial("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	l := line(id, bodySize)
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(c, 64<<10)
		for i := 0; i < n; i++ {
			if _, err := w.Write(l); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.Flush()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for i := 0; i < n; i++ {
		reply, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("conn %d: after %d acks: %w", id, i, err)
		}
		if string(reply) != "OK\n" {
			return fmt.Errorf("conn %d: event %d: reply %q", id, i, reply)
		}
	}
	return <-werr
}

// GeneratorBaseline measures the netcat load generator against a null
// reader that acks every line with OK at once, so the generator's own limit
// is known to lie above the agent's figure.
func GeneratorBaseline(ctx context.Context, events, bodySize, conns int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 64<<10)
				w := bufio.NewWriterSize(c, 64<<10)
				for {
					if _, err := r.ReadSlice('\n'); err != nil {
						if !errors.Is(err, io.EOF) {
							return
						}
						_ = w.Flush()
						return
					}
					_, _ = w.WriteString("OK\n")
					if r.Buffered() == 0 {
						if w.Flush() != nil {
							return
						}
					}
				}
			}()
		}
	}()
	p := Ports{Source: ln.Addr().(*net.TCPAddr).Port}
	start := time.Now()
	if err := NetcatLoad(conns)(ctx, p, events, bodySize); err != nil {
		return 0, err
	}
	return float64(events) / time.Since(start).Seconds(), nil
}
