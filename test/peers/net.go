package peers

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A port a test picks and hands to a process that binds it later must still
// be free by then. Asking the kernel for :0 and closing is not enough: the
// kernel hands ports of its ephemeral range to every connect and every :0
// listener on the machine (a JVM's RMI or client sockets, another test
// package running in parallel), and may hand the same port again to this
// process. So FreePort picks from outside the ephemeral range, never returns
// a port twice in one process, and reserves it against other processes with
// a lock file that is held until this process exits.

// Ports outside the kernel's ephemeral range are picked from here: above
// the well-known services, below the usual ephemeral start (32768 on Linux,
// 49152 elsewhere).
const portLow, portHigh = 20000, 32768

var ports = struct {
	sync.Mutex
	taken map[int]bool
	locks []*os.File // reservations held for the life of the process
}{taken: map[int]bool{}}

// FreePort returns a loopback TCP port that nothing listens on, that the
// kernel does not hand out on its own, and that no other caller of FreePort
// (in this process or another one) gets while this process runs.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// Port is FreePort for programs that are not tests.
func Port() (int, error) { return freePort() }

func freePort() (int, error) {
	ports.Lock()
	defer ports.Unlock()
	candidates := portCandidates()
	for range 500 {
		if len(candidates) == 0 {
			break
		}
		p := candidates[rand.IntN(len(candidates))]
		if ports.taken[p] {
			continue
		}
		ports.taken[p] = true // tried once is enough: never retry a port
		f, ok := lockPort(p)
		if !ok {
			continue // another process reserved it
		}
		if !canListen(p) {
			unlockPort(f)
			continue
		}
		if f != nil {
			ports.locks = append(ports.locks, f)
		}
		return p, nil
	}
	// No range to pick from (an ephemeral range covering it): the kernel's
	// choice, still never twice in this process.
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("peers: free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !ports.taken[p] {
			ports.taken[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("peers: free port: none left that this process has not used")
}

// portCandidates is [portLow, portHigh) without the ephemeral range.
func portCandidates() []int {
	eLo, eHi := ephemeralRange()
	var out []int
	for p := portLow; p < portHigh; p++ {
		if p < eLo || p > eHi {
			out = append(out, p)
		}
	}
	return out
}

// ephemeralRange is Linux's ip_local_port_range, or IANA's dynamic range
// where that file is missing.
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && l <= h {
				return l, h
			}
		}
	}
	return 49152, 65535
}

// canListen reports whether p can be bound now on every address (a
// wildcard bind conflicts with any listener on p, loopback or not).
func canListen(p int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// portLockDir holds one lock file per reserved port, shared by every
// process on the machine that uses this package.
func portLockDir() string { return filepath.Join(os.TempDir(), "sluice-test-ports") }

// PortOpen reports whether addr accepts a TCP connection now.
func PortOpen(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
