package avroipc

import (
	"bufio"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DeflateConn is Flume's compression-type=deflate: what Netty's JZlibEncoder
// and JZlibDecoder do to a connection. Each direction is one zlib stream
// (RFC 1950, with header and checksum) for the life of the connection, and
// every write is sync-flushed so the peer can decode it at once. In Flume's
// pipeline compression sits below TLS: with both on, the TLS records travel
// inside the zlib stream.
type DeflateConn struct {
	net.Conn
	rmu sync.Mutex
	zr  io.ReadCloser
	err error

	wmu sync.Mutex
	zw  *zlib.Writer
	bw  *bufio.Writer // made on the first write: idle connections hold no buffers
}

// NewDeflateConn wraps c. level is the compression level of what this side
// writes (0-9, or -1 for the zlib default); Flume's source always uses 6.
func NewDeflateConn(c net.Conn, level int) (*DeflateConn, error) {
	d := &DeflateConn{Conn: c}
	zw, err := zlib.NewWriterLevel(writerFunc(d.writeRaw), level)
	if err != nil {
		return nil, fmt.Errorf("compression level %d: %w", level, err)
	}
	d.zw = zw
	return d, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// writeRaw buffers compressed bytes for the connection (under wmu).
func (d *DeflateConn) writeRaw(p []byte) (int, error) {
	if d.bw == nil {
		d.bw = bufio.NewWriterSize(d.Conn, 32<<10)
	}
	return d.bw.Write(p)
}

// flush sends what writeRaw buffered (under wmu).
func (d *DeflateConn) flush() error {
	if d.bw == nil {
		return nil
	}
	return d.bw.Flush()
}

// Read inflates. The zlib header is read on the first call, so a peer that
// sends nothing does not block the constructor.
func (d *DeflateConn) Read(p []byte) (int, error) {
	d.rmu.Lock()
	defer d.rmu.Unlock()
	if d.zr == nil && d.err == nil {
		d.zr, d.err = zlib.NewReader(d.Conn)
		if d.err != nil {
			d.err = fmt.Errorf("zlib stream from peer: %w", unexpected(d.err))
		}
	}
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("zlib stream from peer: %w", err)
	}
	return n, err
}

// Write deflates p and sync-flushes it to the connection.
func (d *DeflateConn) Write(p []byte) (int, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if _, err := d.zw.Write(p); err != nil {
		return 0, err
	}
	if err := d.zw.Flush(); err != nil {
		return 0, err
	}
	if err := d.flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the outgoing stream properly (as Netty's encoder does on
// close), within a second, then closes the connection. A stream never
// begun (nothing written) is not begun now: that would build a compressor
// for each idle connection closed.
func (d *DeflateConn) Close() error {
	if d.wmu.TryLock() {
		if d.bw != nil {
			_ = d.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			if d.zw.Close() == nil {
				_ = d.flush()
			}
		}
		d.wmu.Unlock()
	}
	return d.Conn.Close()
}
