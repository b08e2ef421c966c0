package http

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener serves at most max connections at once. When all are
// taken and another client connects, it closes the connection that has
// been idle longest (no request in progress: a keep-alive connection
// between requests, or one that has sent nothing yet), so that clients
// that hold connections without using them cannot lock others out; while
// every connection is busy with a request the new one waits. It also
// keeps OpenConnectionCount.
type limitListener struct {
	net.Listener
	slots chan struct{}
	open  *atomic.Int64
	done  chan struct{}
	once  sync.Once
	// evicted is called (outside the lock) after an idle connection was
	// closed to make room.
	evicted func()

	mu   sync.Mutex
	idle map[net.Conn]time.Time // connections with no request in progress, since when
}

func newLimitListener(l net.Listener, max int, open *atomic.Int64) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, max), open: open, done: make(chan struct{}),
		idle: map[net.Conn]time.Time{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			l.open.Add(1)
			return &limitConn{Conn: c, l: l}, nil
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		default:
		}
		if l.evictIdlest() {
			if l.evicted != nil {
				l.evicted()
			}
		}
		// Wait for the slot the closed connection frees, or for one that
		// finishes its request and becomes idle.
		select {
		case l.slots <- struct{}{}:
			l.open.Add(1)
			return &limitConn{Conn: c, l: l}, nil
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// connState is the server's ConnState hook: it tracks which connections
// have no request in progress.
func (l *limitListener) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateNew, http.StateIdle:
		l.idle[c] = time.Now()
	default:
		delete(l.idle, c)
	}
}

// evictIdlest closes the connection idle longest, if there is one.
func (l *limitListener) evictIdlest() bool {
	l.mu.Lock()
	var oldest net.Conn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	if tc, ok := oldest.(*tls.Conn); ok {
		oldest = tc.NetConn() // no close alert: it may block on a peer that reads nothing
	}
	oldest.Close()
	return true
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.slots
	})
	return err
}
