package hdfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Go HDFS client's FileWriter.Flush sends the buffered packets to the
// DataNode pipeline but, unlike Java's hflush, does not wait for their
// acknowledgements. To commit a batch only once the DataNodes have it, the
// sink watches its own DataNode connections (it dials them): it reads the
// sequence number of every data packet written and of every
// acknowledgement read, and waitAcked waits until each open connection has
// had all its packets acknowledged. The watching only parses what passes
// through; the client's bytes are untouched. If the stream is not what the
// parser expects (SASL-protected data transfer, say), the connection is
// marked untracked and the sink falls back to closing and reopening the
// file after each batch, which waits for the acknowledgements as well.

var errUntracked = errors.New("DataNode connection not tracked")

type ackTracker struct {
	mu      sync.Mutex
	conns   map[*ackConn]struct{}
	changed chan struct{}
}

func newAckTracker() *ackTracker {
	return &ackTracker{conns: map[*ackConn]struct{}{}, changed: make(chan struct{})}
}

// signal wakes waiters; called with mu held.
func (t *ackTracker) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *ackTracker) wrap(c net.Conn) net.Conn {
	a := &ackConn{Conn: c, t: t, sent: -1, acked: -1}
	t.mu.Lock()
	t.conns[a] = struct{}{}
	t.mu.Unlock()
	return a
}

// waitAcked waits until every open DataNode connection has had each data
// packet written to it acknowledged, a connection failed (its error is
// returned), or the deadline passed.
func (t *ackTracker) waitAcked(deadline time.Time) error {
	var timer <-chan time.Time
	for {
		t.mu.Lock()
		pending := false
		for c := range t.conns {
			switch {
			case c.bad:
				t.mu.Unlock()
				return errUntracked
			case c.err != nil:
				err := c.err
				t.mu.Unlock()
				return err
			case c.acked < c.sent:
				pending = true
			}
		}
		if !pending {
			t.mu.Unlock()
			return nil
		}
		ch := t.changed
		t.mu.Unlock()
		if timer == nil && !deadline.IsZero() {
			timer = time.After(time.Until(deadline))
		}
		select {
		case <-ch:
		case <-timer:
			return fmt.Errorf("the DataNodes did not acknowledge the batch in time (hdfs.callTimeout): %w", errAckTimeout)
		}
	}
}

var errAckTimeout = errors.New("acknowledgement timeout")

// ackConn is one DataNode connection, watched in both directions.
type ackConn struct {
	net.Conn
	t *ackTracker

	wmu   sync.Mutex
	wop   bool   // the op request has been seen
	whead []byte // bytes of the current op request or packet header
	wskip int    // payload bytes still to pass over

	rmu   sync.Mutex
	rbuf  []byte
	rresp bool // the op response has been seen

	// guarded by t.mu
	sent, acked int64
	err         error
	bad         bool
}

func (c *ackConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.wmu.Lock()
	c.parseWrite(p[:n])
	c.wmu.Unlock()
	return n, err
}

// parseWrite follows the client's side: an op request (2-byte version,
// op, varint-prefixed proto), then packets (uint32 payload length, uint16
// header length, PacketHeaderProto, checksums and data).
func (c *ackConn) parseWrite(p []byte) {
	for len(p) > 0 {
		if c.wskip > 0 {
			k := min(c.wskip, len(p))
			c.wskip -= k
			p = p[k:]
			continue
		}
		c.whead = append(c.whead, p[0])
		p = p[1:]
		if !c.wop {
			if len(c.whead) < 4 {
				continue
			}
			l, n := binary.Uvarint(c.whead[3:])
			if n <= 0 {
				if len(c.whead) > 3+binary.MaxVarintLen32 {
					c.markBad()
					return
				}
				continue
			}
			c.wop = true
			c.wskip = int(l)
			c.whead = c.whead[:0]
			continue
		}
		if len(c.whead) < 6 {
			continue
		}
		plen := int(binary.BigEndian.Uint32(c.whead))
		hlen := int(binary.BigEndian.Uint16(c.whead[4:]))
		if len(c.whead) < 6+hlen {
			continue
		}
		seq, ok := fieldInt(c.whead[6:6+hlen], 2, false)
		if !ok || plen < 4 {
			c.markBad()
			return
		}
		c.wskip = plen - 4
		c.whead = c.whead[:0]
		if seq >= 0 {
			c.t.mu.Lock()
			if seq > c.sent {
				c.sent = seq
			}
			c.t.mu.Unlock()
		}
	}
}

func (c *ackConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rmu.Lock()
	c.parseRead(p[:n])
	c.rmu.Unlock()
	if err != nil {
		c.t.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.t.signal()
		c.t.mu.Unlock()
	}
	return n, err
}

// parseRead follows the DataNode's side: the op response, then
// PipelineAckProto messages, each varint-prefixed.
func (c *ackConn) parseRead(p []byte) {
	c.rbuf = append(c.rbuf, p...)
	for len(c.rbuf) > 0 {
		l, n := binary.Uvarint(c.rbuf)
		if n == 0 {
			return // need more
		}
		if n < 0 || l > 1<<20 {
			c.markBad()
			c.rbuf = nil
			return
		}
		if len(c.rbuf) < n+int(l) {
			return
		}
		msg := c.rbuf[n : n+int(l)]
		c.rbuf = c.rbuf[n+int(l):]
		if !c.rresp {
			c.rresp = true
			continue
		}
		seq, ok := fieldInt(msg, 1, true)
		if !ok {
			c.markBad()
			return
		}
		failed := false
		b := msg
		for len(b) > 0 {
			num, typ, k := protowire.ConsumeTag(b)
			if k < 0 {
				break
			}
			b = b[k:]
			if num == 2 && typ == protowire.VarintType {
				v, k := protowire.ConsumeVarint(b)
				if k < 0 {
					break
				}
				if v != 0 { // Status SUCCESS is 0
					failed = true
				}
				b = b[k:]
				continue
			}
			k = protowire.ConsumeFieldValue(num, typ, b)
			if k < 0 {
				break
			}
			b = b[k:]
		}
		c.t.mu.Lock()
		if failed && c.err == nil {
			c.err = fmt.Errorf("a DataNode refused packet %d", seq)
		}
		if seq >= 0 && seq > c.acked {
			c.acked = seq
		}
		c.t.signal()
		c.t.mu.Unlock()
	}
}

func (c *ackConn) markBad() {
	c.t.mu.Lock()
	c.bad = true
	c.t.signal()
	c.t.mu.Unlock()
}

func (c *ackConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.signal()
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// fieldInt finds integer field num (varint, zigzag-decoded when zz, or
// fixed64) in a protobuf message.
func fieldInt(b []byte, num protowire.Number, zz bool) (int64, bool) {
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return 0, false
		}
		b = b[k:]
		if n == num {
			switch typ {
			case protowire.VarintType:
				v, k := protowire.ConsumeVarint(b)
				if k < 0 {
					return 0, false
				}
				if zz {
					return protowire.DecodeZigZag(v), true
				}
				return int64(v), true
			case protowire.Fixed64Type:
				v, k := protowire.ConsumeFixed64(b)
				if k < 0 {
					return 0, false
				}
				return int64(v), true
			}
		}
		k = protowire.ConsumeFieldValue(n, typ, b)
		if k < 0 {
			return 0, false
		}
		b = b[k:]
	}
	return 0, false
}
