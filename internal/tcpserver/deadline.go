package tcpserver

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// ErrStopping is what a DeadlineConn's Read returns once its source stops.
var ErrStopping = errors.New("source stopping")

// DeadlineConn sets the read deadline before every read of the socket, so
// a peer is judged by its progress: a source sets Timeout to its idle
// timeout while waiting for a request and to its read timeout once one has
// begun. Once Stopping is true, every read fails at once with ErrStopping.
type DeadlineConn struct {
	net.Conn
	Timeout  time.Duration // 0: no deadline; changed only by the connection's goroutine
	Stopping *atomic.Bool
}

func (d *DeadlineConn) Read(p []byte) (int, error) {
	switch {
	case d.Stopping.Load():
		return 0, ErrStopping
	case d.Timeout > 0:
		_ = d.Conn.SetReadDeadline(time.Now().Add(d.Timeout))
	default:
		_ = d.Conn.SetReadDeadline(time.Time{})
	}
	return d.Conn.Read(p)
}
