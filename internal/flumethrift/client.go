package flumethrift

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

// DialOptions configure a Client.
type DialOptions struct {
	Protocol       Protocol
	TLS            *tls.Config   // nil: plain TCP
	ConnectTimeout time.Duration // connect and TLS handshake (0: 20 s)
	RequestTimeout time.Duration // one call, from its first byte sent to its answer (0: 20 s)
	MaxFrameSize   int           // largest answer accepted (0: DefaultMaxFrameSize)
}

// Client is one connection to a thrift source. It is not safe for
// concurrent use; after any error it must be closed.
type Client struct {
	conn net.Conn
	br   *bufio.Reader
	w    *Writer
	opts DialOptions
	seq  int32
	buf  []byte
}

// Dial connects to addr (and completes the TLS handshake).
func Dial(ctx context.Context, addr string, o DialOptions) (*Client, error) {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 20 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 20 * time.Second
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	ctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		tc := tls.Client(conn, o.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	return &Client{conn: conn, br: bufio.NewReaderSize(conn, 4<<10), w: NewWriter(o.Protocol), opts: o}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// AppendBatch sends events in one appendBatch call and waits for the
// answer: nil for OK, a *StatusError for FAILED and the like.
func (c *Client) AppendBatch(ctx context.Context, events []*sluice.Event) error {
	c.seq++
	msg, err := c.w.AppendBatch(c.seq, events)
	if err != nil {
		return fmt.Errorf("encode appendBatch: %w", err)
	}
	return c.call(ctx, MethodAppendBatch, msg)
}

// Append sends one event in an append call and waits for the answer.
func (c *Client) Append(ctx context.Context, e *sluice.Event) error {
	c.seq++
	msg, err := c.w.Append(c.seq, e)
	if err != nil {
		return fmt.Errorf("encode append: %w", err)
	}
	return c.call(ctx, MethodAppend, msg)
}

func (c *Client) call(ctx context.Context, method string, msg []byte) error {
	deadline := time.Now().Add(c.opts.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.conn.SetDeadline(deadline)
	// A cancelled ctx wakes the call at once.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.conn.Write(msg); err != nil {
		return c.failed(ctx, "send "+method, err)
	}
	var err error
	c.buf, err = ReadFrame(c.br, c.buf, c.opts.MaxFrameSize)
	if err != nil {
		return c.failed(ctx, "read the answer to "+method, err)
	}
	err = DecodeReply(c.buf, c.opts.Protocol, method, c.seq)
	if cap(c.buf) > 64<<10 {
		c.buf = nil
	}
	return err
}

func (c *Client) failed(ctx context.Context, what string, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: no answer within request-timeout (%v): %w", what, c.opts.RequestTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
