package avro

import (
	"context"
	"encoding/binary"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/sluicetest"
)

// stall opens a connection, starts a frame claiming claim bytes, sends
// send of them (through deflate when set: zeros, a zlib bomb of a few
// hundred bytes per MB) and stops sending. It returns once the source
// closed the connection.
func stall(addr string, deflate bool, claim, send int) error {
	raw, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return err
	}
	defer raw.Close()
	var c net.Conn = raw
	if deflate {
		if c, err = avroipc.NewDeflateConn(raw, 9); err != nil {
			return err
		}
	}
	hdr := binary.BigEndian.AppendUint32(nil, 1)            // serial
	hdr = binary.BigEndian.AppendUint32(hdr, 1)             // one buffer
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(claim)) // of claim bytes
	_ = raw.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := c.Write(hdr); err != nil {
		return nil
	}
	chunk := make([]byte, 1<<20)
	for sent := 0; sent < send; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return nil // the source gave up on this connection
		}
	}
	_ = raw.SetReadDeadline(time.Now().Add(time.Minute))
	_, _ = raw.Read(make([]byte, 1)) // stall until the source closes it
	return nil
}

// TestBytesInFlightBounded: ten connections that each start a 57 MB frame
// and stall after 40 MB, plain or as a deflate bomb (40 MB of zeros in
// ~40 KB on the wire each): the source holds at most max-bytes-in-flight
// for them (its heap grows by the budget, not by the 400 MB sent: without
// the budget it grew by 400-800 MB), frames past the budget wait and are
// refused when no room comes, and a normal client is served once the
// stalled connections are gone.
func TestBytesInFlightBounded(t *testing.T) {
	// Room for one 57 MB frame (it needs up to 1.5 × its size while its
	// buffer grows), not for ten.
	const limit = 96 << 20
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate bomb"
		}
		t.Run(name, func(t *testing.T) {
			proc := sluicetest.NewProcessor()
			props := map[string]string{"max-bytes-in-flight": strconv.Itoa(limit), "read-timeout": "2"}
			if deflate {
				props["compression-type"] = "deflate"
			}
			f := start(t, proc, props)
			base := sluicetest.HeapInUse()
			var wg sync.WaitGroup
			done := make(chan struct{})
			for i := 0; i < 10; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := stall(f.addr, deflate, 57_000_000, 40<<20); err != nil {
						t.Error(err)
					}
				}()
			}
			go func() { wg.Wait(); close(done) }()
			// Sample the heap until the source has closed every stalled
			// connection (read-timeout, or no room in the budget).
			var peak, usedAtPeak int64
			deadline := time.After(2 * time.Minute)
		sample:
			for {
				if h := sluicetest.HeapInUse() - base; h > peak {
					peak, usedAtPeak = h, f.src.budget.Used()
				}
				select {
				case <-done:
					break sample
				case <-deadline:
					t.Fatal("stalled connections still open after 2 minutes")
				case <-time.After(50 * time.Millisecond):
				}
			}
			t.Logf("heap grew at most %.1f MB (%.1f MB of the budget held then); budget peak %.1f MB of %d MB", float64(peak)/(1<<20), float64(usedAtPeak)/(1<<20), float64(f.src.budget.Peak())/(1<<20), limit>>20)
			if f.src.budget.Peak() > limit {
				t.Errorf("budget peak %d over its limit %d", f.src.budget.Peak(), limit)
			}
			if f.src.budget.Peak() < limit/2 {
				t.Errorf("budget peak %d: the stalled frames were not counted", f.src.budget.Peak())
			}
			// Live frame buffers stay within the budget; a sample may
			// also see buffers dropped while its collection ran (grown
			// out of, or of a refused frame), themselves counted in the
			// budget before, so at most as much again; plus the
			// connections' fixed buffers and this test's writers (1 MB
			// each, and their compressors). Without the budget the heap
			// grew by 550-690 MB here.
			if bound := int64(2*limit + 32<<20); peak > bound {
				t.Errorf("heap grew by %d bytes for stalled frames, more than the budget allows (%d)", peak, bound)
			}
			if u := f.src.budget.Used(); u != 0 {
				t.Errorf("%d bytes still held after every connection closed", u)
			}
			c := dial(t, f.addr, avroipc.DialOptions{Deflate: deflate, DeflateLevel: 6})
			if err := c.AppendBatch(context.Background(), events(5, "ok")); err != nil {
				t.Fatalf("a normal client after the stall: %v", err)
			}
			if n := len(proc.Events()); n != 5 {
				t.Fatalf("%d events delivered, want 5", n)
			}
		})
	}
}

// A frame larger than the whole budget is refused at once, with a log
// line naming the setting, and the connection closed.
func TestFrameOverBudgetRefused(t *testing.T) {
	proc := sluicetest.NewProcessor()
	f := start(t, proc, map[string]string{"max-bytes-in-flight": "1048576"})
	c := rawConn(t, f.addr)
	hdr := binary.BigEndian.AppendUint32(nil, 1)
	hdr = binary.BigEndian.AppendUint32(hdr, 1)
	hdr = binary.BigEndian.AppendUint32(hdr, 2<<20)
	c.Write(hdr)
	c.Write(make([]byte, 1<<20+1<<19))
	closedByPeer(t, c)
	f.log.waitLog(t, "max-bytes-in-flight reached", "more than the whole budget")
	if u := f.src.budget.Used(); u != 0 {
		t.Errorf("%d bytes still held", u)
	}
	cl := dial(t, f.addr, avroipc.DialOptions{})
	if err := cl.AppendBatch(context.Background(), events(3, "x")); err != nil {
		t.Fatalf("next client: %v", err)
	}
}
