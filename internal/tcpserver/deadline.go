package tcpserver

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/ratelog"
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

// WakeReaders is a Finish for sources whose connections read through a
// DeadlineConn: a connection waiting for its next request stops at once,
// one busy with a request finishes and answers it, then stops.
func WakeReaders(c net.Conn) { _ = c.SetReadDeadline(time.Unix(1, 0)) }

// Reporter logs, in one line each, why a source's connections end, and
// counts bad input as EventReadFail. Past a burst of lines every 10 s it
// holds the rest back and says how many it held, so that thousands of
// hostile connections cannot flood the log.
type Reporter struct {
	What        string // "avro source"
	Log         *slog.Logger
	Counters    *sluice.SourceCounters
	Stopping    *atomic.Bool
	IdleTimeout time.Duration // for the idle-close line

	limit ratelog.Limiter
}

// reportBurst is how many connection lines a source logs per 10 s.
const reportBurst = 20

// allow reports whether a line may be logged, and the arguments that say
// how many were held back before it.
func (r *Reporter) allow() (bool, []any) {
	ok, held := r.limit.AllowBurst(reportBurst)
	if held > 0 {
		return ok, []any{"similar_lines_held_back", held}
	}
	return ok, nil
}

// BadInput logs a connection's bad input and counts it; the caller closes
// that connection, and the source goes on serving the others.
func (r *Reporter) BadInput(peer, what string, err error) {
	r.Counters.EventReadFail.Add(1)
	if ok, more := r.allow(); ok {
		r.Log.Warn(r.What+": "+what+"; closing the connection", append([]any{"remote", peer, "err", err}, more...)...)
	}
}

// Ended logs why reading a connection stopped: between requests (between)
// or inside one. A clean close between requests and a stopping source are
// worth a debug line only.
func (r *Reporter) Ended(peer string, err error, between bool) {
	var ne net.Error
	switch {
	case errors.Is(err, ErrStopping), r.Stopping.Load():
		r.Log.Debug(r.What+": closing connection for stop", "remote", peer)
	case between && errors.Is(err, io.EOF):
		r.Log.Debug(r.What+": client closed the connection", "remote", peer)
	case between && errors.As(err, &ne) && ne.Timeout():
		if ok, more := r.allow(); ok {
			r.Log.Info(r.What+": closing idle connection", append([]any{"remote", peer, "idle-timeout", r.IdleTimeout}, more...)...)
		}
	case errors.As(err, &ne) && ne.Timeout():
		r.BadInput(peer, "client stalled in the middle of a request", err)
	default:
		r.BadInput(peer, "cannot read request", err)
	}
}

// FirstByte waits for a new connection's first byte without a read buffer
// and returns a reader that yields that byte and then the rest of c: a
// source makes its (large) buffered reader only once a client sends
// something, so that thousands of idle connections cost little.
func FirstByte(c io.Reader) (io.Reader, error) {
	var b [1]byte
	for {
		n, err := c.Read(b[:])
		if n == 1 {
			return io.MultiReader(bytes.NewReader(b[:]), c), nil
		}
		if err != nil {
			return nil, err
		}
	}
}
