package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/flumethrift"
)

// thriftWorkloads are thrift → memory → null and the two-tier thrift hop
// (thrift → memory → thrift sink → second agent → null), compact protocol,
// each the same conf for Sluice and Flume.
func thriftWorkloads() []Workload {
	source := func(agent string, port int) string {
		return fmt.Sprintf("%[1]s.sources = r1\n%[1]s.sources.r1.type = thrift\n%[1]s.sources.r1.bind = 127.0.0.1\n"+
			"%[1]s.sources.r1.port = %[2]d\n%[1]s.sources.r1.channels = c1\n", agent, port)
	}
	single := Workload{
		Name:     "thrift (batch 1000) → memory → null, 100-byte bodies",
		Conf:     func(p Ports) string { return source("a1", p.Source) + memoryNull },
		Load:     ThriftLoad(4, 1000),
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
	hop := Workload{
		Name:   "thrift (batch 1000) → memory → thrift sink → agent 2 → null",
		Agents: []string{"a1", "a2"},
		Conf: func(p Ports) string {
			return source("a1", p.Source) + fmt.Sprintf(`a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = thrift
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 1000
a1.sinks.k1.channel = c1
`, p.Hop) + source("a2", p.Hop) + `a2.channels = c1
a2.sinks = k1
a2.channels.c1.type = memory
a2.channels.c1.capacity = 100000
a2.channels.c1.transactionCapacity = 1000
a2.sinks.k1.type = null
a2.sinks.k1.batchSize = 1000
a2.sinks.k1.channel = c1
`
		},
		Load:     ThriftLoad(4, 1000),
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
	return []Workload{single, hop}
}

// ThriftLoad sends events as Thrift appendBatch calls (compact protocol,
// framed) of batch events with bodySize-byte bodies over conns
// connections, each waiting for OK before its next call, as Flume's thrift
// sink does. A connection encodes its request once. A FAILED answer (the
// channel was full) is retried on a new connection after a short pause.
func ThriftLoad(conns, batch int) func(ctx context.Context, p Ports, events, bodySize int) error {
	return func(ctx context.Context, p Ports, events, bodySize int) error {
		addr := fmt.Sprintf("127.0.0.1:%d", p.Source)
		return perConn(conns, events, func(_, n int) error { return thriftConn(ctx, addr, n, batch, bodySize) })
	}
}

func thriftConn(ctx context.Context, addr string, n, batch, bodySize int) error {
	body := bytes.Repeat([]byte{'x'}, bodySize)
	evs := make([]*sluice.Event, batch)
	for i := range evs {
		evs[i] = &sluice.Event{Headers: map[string]string{}, Body: body}
	}
	reqs := map[int][]byte{} // framed requests by event count
	request := func(k int) ([]byte, error) {
		if r, ok := reqs[k]; ok {
			return r, nil
		}
		r, err := flumethrift.NewWriter(flumethrift.Compact).AppendBatch(1, evs[:k])
		if err != nil {
			return nil, err
		}
		reqs[k] = bytes.Clone(r)
		return reqs[k], nil
	}
	var conn net.Conn
	var br *bufio.Reader
	var buf []byte
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for sent := 0; sent < n; {
		if conn == nil {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				if time.Now().After(deadline) {
					return err
				}
				time.Sleep(2 * time.Millisecond) // the agent is still starting
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 4<<10)
		}
		k := min(batch, n-sent)
		req, err := request(k)
		if err != nil {
			return err
		}
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := conn.Write(req); err != nil {
			return fmt.Errorf("after %d events: %w", sent, err)
		}
		if buf, err = flumethrift.ReadFrame(br, buf, flumethrift.DefaultMaxFrameSize); err != nil {
			return fmt.Errorf("after %d events: %w", sent, err)
		}
		err = flumethrift.DecodeReply(buf, flumethrift.Compact, flumethrift.MethodAppendBatch, 1)
		var se *flumethrift.StatusError
		switch {
		case err == nil:
			sent += k
			deadline = time.Now().Add(60 * time.Second)
		case errors.As(err, &se):
			if time.Now().After(deadline) {
				return fmt.Errorf("after %d events: answered %v for 60 s", sent, se.Status)
			}
			conn.Close()
			conn = nil
			time.Sleep(5 * time.Millisecond)
		default:
			return fmt.Errorf("after %d events: %w", sent, err)
		}
	}
	return nil
}
