package peers

import (
	"net"
	"strconv"
	"testing"
)

// FreePort never repeats a port, stays out of the kernel's ephemeral range
// (where connects and :0 listeners of other processes land) and returns
// ports that can be bound.
func TestFreePortUniqueOutsideEphemeralRange(t *testing.T) {
	lo, hi := ephemeralRange()
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d returned twice", p)
		}
		seen[p] = true
		if p >= lo && p <= hi {
			t.Fatalf("port %d is in the ephemeral range %d-%d", p, lo, hi)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

// A port that something listens on is not returned.
func TestFreePortSkipsABoundPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	if canListen(busy) {
		t.Fatalf("canListen(%d) while it is bound", busy)
	}
}
