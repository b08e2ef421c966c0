package avroipc

import (
	"fmt"
	"sync"

	"github.com/sluiceio/sluice"
)

// remoteHashes remembers, per server address, the protocol hash the server
// last announced, as Java's Requestor does for the whole JVM: the next
// connection to that address then offers the right hash at once.
var remoteHashes sync.Map // string -> [16]byte

var clientProtocols protocolCache

// ClientSession is the client side of one connection's handshake state and
// the encoder of its requests. It is used by one goroutine.
type ClientSession struct {
	addr         string
	connected    bool
	sendProtocol bool
	remote       *peerProtocol
}

// NewClientSession starts the handshake state for a connection to addr
// (the cache key for the server's protocol hash).
func NewClientSession(addr string) *ClientSession { return &ClientSession{addr: addr} }

// Connected reports whether the handshake is complete.
func (c *ClientSession) Connected() bool { return c.connected }

// AppendRequest appends a framed request calling msg (MsgAppend with one
// event, or MsgAppendBatch) with events. Until the handshake completes the
// request starts with a HandshakeRequest, as Java's Requestor writes it.
func (c *ClientSession) AppendRequest(dst []byte, serial int32, msg string, events []*sluice.Event) []byte {
	dst, start := beginFrame(dst)
	if !c.connected {
		dst = c.appendHandshake(dst)
	}
	dst = append(dst, 0) // call metadata: empty map
	dst = appendString(dst, msg)
	if msg == MsgAppend {
		if len(events) > 0 {
			dst = appendEvent(dst, events[0])
		} else {
			dst = appendEvent(dst, &sluice.Event{})
		}
	} else {
		if len(events) > 0 {
			dst = appendLong(dst, int64(len(events)))
			for _, e := range events {
				dst = appendEvent(dst, e)
			}
		}
		dst = append(dst, 0)
	}
	return finishFrame(dst, start, serial)
}

func (c *ClientSession) appendHandshake(dst []byte) []byte {
	serverHash := ProtocolHash
	if h, ok := remoteHashes.Load(c.addr); ok {
		serverHash = h.([16]byte)
	}
	dst = append(dst, ProtocolHash[:]...)
	if c.sendProtocol {
		dst = appendLong(dst, 1)
		dst = appendString(dst, ProtocolJSON)
	} else {
		dst = append(dst, 0)
	}
	dst = append(dst, serverHash[:]...)
	// Java's Requestor always sends an empty meta map, not null.
	return append(dst, 2, 0)
}

// appendEvent encodes an AvroFlumeEvent: headers map<string>, body bytes.
func appendEvent(dst []byte, e *sluice.Event) []byte {
	if n := len(e.Headers); n > 0 {
		dst = appendLong(dst, int64(n))
		for k, v := range e.Headers {
			dst = appendString(dst, k)
			dst = appendString(dst, v)
		}
	}
	dst = append(dst, 0)
	return appendBytes(dst, e.Body)
}

// RemoteError is a system error the server sent instead of a status.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return "server error: " + e.Message }

// ReadResponse decodes the response to the request last built. resend
// means the server did not know this client's protocol: build the request
// again (it will carry the protocol text) and send it with a new serial.
func (c *ClientSession) ReadResponse(payload []byte) (resend bool, st Status, err error) {
	d := decoder{b: payload}
	if !c.connected {
		again, err := c.readHandshake(&d)
		if err != nil {
			return false, 0, fmt.Errorf("handshake response: %w", err)
		}
		if again {
			return true, 0, nil
		}
	}
	if err := d.skipBytesMap("response metadata"); err != nil {
		return false, 0, err
	}
	isErr, err := d.readBool("error flag")
	if err != nil {
		return false, 0, err
	}
	if isErr {
		if _, err := d.readUnionIndex("error", 1); err != nil {
			return false, 0, err
		}
		msg, err := d.readBytes("error message")
		if err != nil {
			return false, 0, err
		}
		return false, 0, &RemoteError{Message: string(msg)}
	}
	v, err := d.readInt("status")
	if err != nil {
		return false, 0, err
	}
	if v < 0 || v > int32(StatusUnknown) {
		return false, 0, fmt.Errorf("status %d is not a Status symbol", v)
	}
	return false, Status(v), nil
}

func (c *ClientSession) readHandshake(d *decoder) (again bool, err error) {
	match, err := d.readLong("match")
	if err != nil {
		return false, err
	}
	if match < matchBoth || match > matchNone {
		return false, fmt.Errorf("match %d is not BOTH, CLIENT or NONE", match)
	}
	var proto []byte
	if i, err := d.readUnionIndex("server protocol", 2); err != nil {
		return false, err
	} else if i == 1 {
		if proto, err = d.readBytes("server protocol"); err != nil {
			return false, err
		}
	}
	var hash []byte
	if i, err := d.readUnionIndex("server hash", 2); err != nil {
		return false, err
	} else if i == 1 {
		if hash, err = d.readFixed("server hash", 16); err != nil {
			return false, err
		}
	}
	if i, err := d.readUnionIndex("handshake metadata", 2); err != nil {
		return false, err
	} else if i == 1 {
		if err := d.skipBytesMap("handshake metadata"); err != nil {
			return false, err
		}
	}
	if match != matchBoth {
		if proto == nil || hash == nil {
			return false, fmt.Errorf("match %d without the server's protocol and hash", match)
		}
		h := [16]byte(hash)
		remote, ok := clientProtocols.get(h)
		if !ok {
			if remote, err = parsePeerProtocol(string(proto)); err != nil {
				return false, fmt.Errorf("server protocol: %w", err)
			}
			clientProtocols.put(h, remote)
		}
		for _, m := range []string{MsgAppend, MsgAppendBatch} {
			if err := remote.compatible(m); err != nil {
				return false, fmt.Errorf("server protocol: %w", err)
			}
		}
		remoteHashes.Store(c.addr, h)
		c.remote = remote
	}
	switch match {
	case matchNone:
		if c.sendProtocol {
			return false, fmt.Errorf("server refused the handshake twice (match NONE)")
		}
		c.sendProtocol = true
		return true, nil
	default:
		c.connected, c.sendProtocol = true, false
		return false, nil
	}
}
