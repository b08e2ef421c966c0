package avroipc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sluiceio/sluice"
)

// DialOptions configure a Client the way Flume's NettyAvroRpcClient is
// configured.
type DialOptions struct {
	// ConnectTimeout bounds the TCP connect and TLS handshake, and the
	// sending of each request (Flume's connect-timeout).
	ConnectTimeout time.Duration
	// RequestTimeout bounds the wait for each response (request-timeout).
	RequestTimeout time.Duration
	// TLS, when set, wraps the connection in TLS as a client.
	TLS *tls.Config
	// Deflate turns on compression-type=deflate at DeflateLevel.
	Deflate      bool
	DeflateLevel int
	// MaxFrameSize limits a response frame (DefaultMaxFrameSize if 0).
	MaxFrameSize int
}

// StatusError is a response whose status was not OK.
type StatusError struct {
	Addr   string
	Status Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("avro peer %s answered %s", e.Addr, e.Status)
}

// Client is one connection to an Avro source. It sends one call at a time;
// after any error it is broken and must be closed.
type Client struct {
	addr   string
	opts   DialOptions
	raw    net.Conn
	conn   net.Conn
	fr     *FrameReader
	sess   *ClientSession
	serial int32
	wbuf   []byte
	broken error
}

// Dial connects to addr (host:port), layering compression and TLS as Flume
// does, and completes the TLS handshake. The Avro handshake goes with the
// first call.
func Dial(ctx context.Context, addr string, o DialOptions) (*Client, error) {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 20 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 20 * time.Second
	}
	d := net.Dialer{Timeout: o.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	conn := raw
	if o.Deflate {
		dc, err := NewDeflateConn(conn, o.DeflateLevel)
		if err != nil {
			raw.Close()
			return nil, err
		}
		conn = dc
	}
	if o.TLS != nil {
		tc := tls.Client(conn, o.TLS)
		hctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	return &Client{
		addr: addr, opts: o, raw: raw, conn: conn,
		fr:   NewFrameReader(bufio.NewReaderSize(conn, 16<<10), o.MaxFrameSize),
		sess: NewClientSession(addr),
	}, nil
}

// Addr is the address dialled.
func (c *Client) Addr() string { return c.addr }

// AppendBatch sends events in one appendBatch call and returns nil only if
// the server answered OK: a *StatusError for FAILED or UNKNOWN, a
// *RemoteError for a server-side error, and other errors for transport
// problems and timeouts.
func (c *Client) AppendBatch(ctx context.Context, events []*sluice.Event) error {
	return c.call(ctx, MsgAppendBatch, events)
}

// Append sends one event in an append call.
func (c *Client) Append(ctx context.Context, e *sluice.Event) error {
	return c.call(ctx, MsgAppend, []*sluice.Event{e})
}

func (c *Client) call(ctx context.Context, msg string, events []*sluice.Event) (err error) {
	if c.broken != nil {
		return fmt.Errorf("avro client to %s is broken by an earlier error: %w", c.addr, c.broken)
	}
	defer func() {
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) {
				c.broken = err
			}
		}
	}()
	// Cancelling ctx wakes any blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for attempt := 0; attempt < 2; attempt++ {
		c.serial++
		c.wbuf = c.sess.AppendRequest(c.wbuf[:0], c.serial, msg, events)
		if err := c.raw.SetWriteDeadline(time.Now().Add(c.opts.ConnectTimeout)); err != nil {
			return err
		}
		if _, err := c.conn.Write(c.wbuf); err != nil {
			return c.ioErr(ctx, "send request", c.opts.ConnectTimeout, err)
		}
		if cap(c.wbuf) > 4<<20 {
			c.wbuf = nil // do not keep an outsized buffer for small batches
		}
		if err := c.raw.SetReadDeadline(time.Now().Add(c.opts.RequestTimeout)); err != nil {
			return err
		}
		serial, payload, err := c.fr.ReadFrame()
		if err != nil {
			return c.ioErr(ctx, "read response", c.opts.RequestTimeout, err)
		}
		if serial != c.serial {
			return fmt.Errorf("avro peer %s answered call %d with serial %d", c.addr, c.serial, serial)
		}
		resend, st, err := c.sess.ReadResponse(payload)
		if err != nil {
			var re *RemoteError
			if errors.As(err, &re) {
				return fmt.Errorf("avro peer %s: %w", c.addr, err)
			}
			return fmt.Errorf("avro peer %s sent a bad response: %w", c.addr, err)
		}
		if resend {
			continue
		}
		if st != StatusOK {
			return &StatusError{Addr: c.addr, Status: st}
		}
		return nil
	}
	return fmt.Errorf("avro peer %s did not complete the handshake", c.addr)
}

func (c *Client) ioErr(ctx context.Context, what string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("avro peer %s: %s: %w", c.addr, what, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("avro peer %s: %s: timed out after %v: %w", c.addr, what, timeout, err)
	}
	return fmt.Errorf("avro peer %s: %s: %w", c.addr, what, err)
}

// Close closes the connection.
func (c *Client) Close() error {
	return c.conn.Close()
}
