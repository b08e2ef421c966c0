package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
)

// avroWorkloads are avro → memory → null at two batch sizes, and a two-tier
// hop (avro → memory → avro sink → second agent → null), each the same conf
// for Sluice and Flume.
func avroWorkloads() []Workload {
	single := func(batch int) Workload {
		return Workload{
			Name: fmt.Sprintf("avro (batch %d) → memory → null, 100-byte bodies", batch),
			Conf: func(p Ports) string {
				return fmt.Sprintf("a1.sources = r1\na1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n"+
					"a1.sources.r1.port = %d\na1.sources.r1.channels = c1\n", p.Source) + memoryNull
			},
			Load:     AvroLoad(4, batch),
			BodySize: 100,
			SinkKey:  "CHANNEL.c1",
		}
	}
	hop := Workload{
		Name:   "avro (batch 1000) → memory → avro sink → agent 2 → null",
		Agents: []string{"a1", "a2"},
		Conf: func(p Ports) string {
			return fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 1000
a1.sinks.k1.channel = c1
a2.sources = r1
a2.channels = c1
a2.sinks = k1
a2.sources.r1.type = avro
a2.sources.r1.bind = 127.0.0.1
a2.sources.r1.port = %d
a2.sources.r1.channels = c1
a2.channels.c1.type = memory
a2.channels.c1.capacity = 100000
a2.channels.c1.transactionCapacity = 1000
a2.sinks.k1.type = null
a2.sinks.k1.batchSize = 1000
a2.sinks.k1.channel = c1
`, p.Source, p.Hop, p.Hop)
		},
		Load:     AvroLoad(4, 1000),
		BodySize: 100,
		SinkKey:  "CHANNEL.c1",
	}
	return []Workload{single(100), single(1000), hop}
}

// AvroLoad sends events as appendBatch calls of batch events with
// bodySize-byte bodies over conns connections, each waiting for OK before
// its next call (as Flume's avro sink and RpcClient do). Once a
// connection's handshake is done its request is encoded once and only its
// serial changes, so the generator spends its time on the wire, not on
// encoding. A FAILED answer (the agent's channel was full) is retried on a
// new connection after a short pause, so every event is delivered exactly
// once per OK.
func AvroLoad(conns, batch int) func(ctx context.Context, p Ports, events, bodySize int) error {
	return func(ctx context.Context, p Ports, events, bodySize int) error {
		addr := fmt.Sprintf("127.0.0.1:%d", p.Source)
		return perConn(conns, events, func(_, n int) error { return avroConn(ctx, addr, n, batch, bodySize) })
	}
}

// avroCaller is one generator connection.
type avroCaller struct {
	conn   net.Conn
	fr     *avroipc.FrameReader
	sess   *avroipc.ClientSession
	serial int32
	req    []byte // the last request; reused while its event count stays
	reqN   int
}

func dialAvro(ctx context.Context, addr string) (*avroCaller, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &avroCaller{conn: c, fr: avroipc.NewFrameReader(bufio.NewReaderSize(c, 64<<10), 0), sess: avroipc.NewClientSession(addr)}, nil
}

// call sends one appendBatch of events and returns the answer's status.
func (a *avroCaller) call(events []*sluice.Event) (avroipc.Status, error) {
	for attempt := 0; attempt < 2; attempt++ {
		a.serial++
		if a.sess.Connected() && a.reqN == len(events) && a.req != nil {
			binary.BigEndian.PutUint32(a.req[0:4], uint32(a.serial))
		} else {
			// The first request carries the handshake: never reused.
			a.reqN = -1
			if a.sess.Connected() {
				a.reqN = len(events)
			}
			a.req = a.sess.AppendRequest(a.req[:0], a.serial, avroipc.MsgAppendBatch, events)
		}
		if err := a.conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
			return 0, err
		}
		if _, err := a.conn.Write(a.req); err != nil {
			return 0, err
		}
		serial, payload, err := a.fr.ReadFrame()
		if err != nil {
			return 0, err
		}
		if serial != a.serial {
			return 0, fmt.Errorf("call %d answered with serial %d", a.serial, serial)
		}
		resend, st, err := a.sess.ReadResponse(payload)
		if err != nil {
			return 0, err
		}
		if !resend {
			return st, nil
		}
	}
	return 0, errors.New("the handshake did not complete")
}

func avroConn(ctx context.Context, addr string, n, batch, bodySize int) error {
	body := bytes.Repeat([]byte{'x'}, bodySize)
	evs := make([]sluice.Event, batch)
	ptrs := make([]*sluice.Event, batch)
	for i := range evs {
		evs[i].Body = body
		ptrs[i] = &evs[i]
	}
	var c *avroCaller
	defer func() {
		if c != nil {
			c.conn.Close()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for sent := 0; sent < n; {
		if c == nil {
			var err error
			if c, err = dialAvro(ctx, addr); err != nil {
				if time.Now().After(deadline) {
					return err
				}
				time.Sleep(2 * time.Millisecond) // the agent is still starting
				continue
			}
		}
		k := min(batch, n-sent)
		st, err := c.call(ptrs[:k])
		switch {
		case err != nil:
			return fmt.Errorf("after %d events: %w", sent, err)
		case st == avroipc.StatusOK:
			sent += k
			deadline = time.Now().Add(60 * time.Second)
		default: // FAILED: the channel was full; retry on a new connection
			if time.Now().After(deadline) {
				return fmt.Errorf("after %d events: answered %v for 60 s", sent, st)
			}
			c.conn.Close()
			c = nil
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// AvroGeneratorBaseline measures the avro load generator (conns
// connections, appendBatch of batch events) against a minimal server that
// decodes every call with avroipc's ServerSession and answers OK at once,
// so the generator's own limit is known to lie above the agents' figures.
func AvroGeneratorBaseline(ctx context.Context, events, bodySize, conns, batch int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	var received atomic.Int64
	protocols := &avroipc.ServerProtocols{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fr := avroipc.NewFrameReader(bufio.NewReaderSize(c, 64<<10), 0)
				sess := avroipc.NewServerSession(protocols, 0)
				var out []byte
				for {
					serial, payload, err := fr.ReadFrame()
					if err != nil {
						return
					}
					call, err := sess.ReadCall(payload)
					if err != nil {
						_, _ = c.Write(sess.AppendError(out[:0], serial, err.Error()))
						return
					}
					received.Add(int64(len(call.Events)))
					out = sess.AppendReply(out[:0], serial, call.Kind, avroipc.StatusOK)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := Ports{Source: ln.Addr().(*net.TCPAddr).Port}
	start := time.Now()
	if err := AvroLoad(conns, batch)(ctx, p, events, bodySize); err != nil {
		return 0, err
	}
	el := time.Since(start)
	if n := received.Load(); n != int64(events) {
		return 0, fmt.Errorf("the null avro server received %d events, want %d", n, events)
	}
	return float64(events) / el.Seconds(), nil
}
