package avroipc

import (
	"fmt"
	"unsafe"

	"github.com/sluiceio/sluice"
)

// Handshake match values (HandshakeMatch enum indices).
const (
	matchBoth   = 0
	matchClient = 1
	matchNone   = 2
)

// ServerProtocols is what a server remembers across connections: the
// protocols of clients it has met, by hash. One per listening server.
type ServerProtocols struct{ cache protocolCache }

// CallKind is what a request asked for.
type CallKind int

const (
	// CallHandshake is a request whose handshake the server could not
	// complete (unknown client hash, no protocol text): the reply is the
	// handshake alone and the client sends the call again.
	CallHandshake CallKind = iota
	// CallPing is a call with the empty message name: only the handshake is
	// answered.
	CallPing
	// CallAppend carries one event.
	CallAppend
	// CallAppendBatch carries a batch of events.
	CallAppendBatch
)

// Call is one decoded request.
type Call struct {
	Kind CallKind
	// Events holds the event of an append, the events of an appendBatch.
	// The slice is reused by the next ReadCall; the events are not. Event
	// bodies share the frame's payload, which must not be reused.
	Events []*sluice.Event
}

// ServerSession is the server side of one connection: its handshake state
// and the reply being built. It is used by one goroutine.
type ServerSession struct {
	protocols *ServerProtocols
	connected bool
	remote    *peerProtocol
	pending   []byte // handshake response for the current call
	maxItems  int
	batch     []*sluice.Event
	keys      map[string]string
}

// NewServerSession starts a connection's session. maxFrame is the frame
// limit; a call may decode at most maxFrame/32 events and headers together,
// which bounds the memory a small frame of tiny events can make us spend.
func NewServerSession(p *ServerProtocols, maxFrame int) *ServerSession {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	return &ServerSession{protocols: p, maxItems: max(maxFrame/32, 1), keys: map[string]string{}}
}

// Connected reports whether the handshake is complete.
func (s *ServerSession) Connected() bool { return s.connected }

// ReadCall decodes a request payload. An error means the request was bad
// input; answer it with AppendError and close the connection.
func (s *ServerSession) ReadCall(payload []byte) (Call, error) {
	s.pending = s.pending[:0]
	clear(s.batch)
	s.batch = s.batch[:0]
	d := decoder{b: payload}
	if !s.connected {
		ok, err := s.handshake(&d)
		if err != nil {
			return Call{}, fmt.Errorf("handshake: %w", err)
		}
		if !ok {
			return Call{Kind: CallHandshake}, nil
		}
	}
	if err := d.skipBytesMap("call metadata"); err != nil {
		return Call{}, err
	}
	name, err := d.readBytes("message name")
	if err != nil {
		return Call{}, err
	}
	if len(name) == 0 {
		return Call{Kind: CallPing}, nil
	}
	var kind CallKind
	switch string(name) {
	case MsgAppend:
		kind = CallAppend
	case MsgAppendBatch:
		kind = CallAppendBatch
	default:
		if err := s.remote.compatible(string(name)); err != nil {
			return Call{}, err
		}
		return Call{}, fmt.Errorf("no message named %q in Flume's protocol", name)
	}
	if err := s.remote.compatible(string(name)); err != nil {
		return Call{}, err
	}
	budget := s.maxItems
	if kind == CallAppend {
		ev, err := s.readEvent(&d, &budget)
		if err != nil {
			return Call{}, err
		}
		s.batch = append(s.batch, ev)
		return Call{Kind: kind, Events: s.batch}, nil
	}
	for {
		n, err := d.readBlockCount("event array", 2)
		if err != nil {
			return Call{}, err
		}
		if n == 0 {
			break
		}
		if n > budget {
			return Call{}, fmt.Errorf("batch holds more than %d events and headers", s.maxItems)
		}
		slab := make([]sluice.Event, n)
		for i := range slab {
			if err := s.readEventInto(&d, &slab[i], &budget); err != nil {
				return Call{}, fmt.Errorf("event %d: %w", len(s.batch)+1, err)
			}
			s.batch = append(s.batch, &slab[i])
		}
	}
	return Call{Kind: kind, Events: s.batch}, nil
}

func (s *ServerSession) readEvent(d *decoder, budget *int) (*sluice.Event, error) {
	ev := new(sluice.Event)
	return ev, s.readEventInto(d, ev, budget)
}

// payloadString returns b as a string without copying. b is part of a
// frame's payload, which the frame reader allocated for this frame alone and
// nothing writes to after decoding: the only other slices of it handed out
// are event bodies, which never overlap header bytes and are capped so that
// appending to them cannot reach past their end.
func payloadString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// maxInternedKeys bounds the per-connection table that lets repeated header
// names share one string instead of one allocation per event.
const maxInternedKeys = 256

func (s *ServerSession) readEventInto(d *decoder, ev *sluice.Event, budget *int) error {
	*budget--
	if *budget < 0 {
		return fmt.Errorf("batch holds more than %d events and headers", s.maxItems)
	}
	var h map[string]string
	for {
		n, err := d.readBlockCount("headers", 2)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		*budget -= n
		if *budget < 0 {
			return fmt.Errorf("batch holds more than %d events and headers", s.maxItems)
		}
		if h == nil {
			h = make(map[string]string, n)
		}
		for i := 0; i < n; i++ {
			kb, err := d.readBytes("header name")
			if err != nil {
				return err
			}
			vb, err := d.readBytes("header value")
			if err != nil {
				return err
			}
			k, ok := s.keys[string(kb)]
			if !ok {
				k = string(kb)
				if len(s.keys) < maxInternedKeys {
					s.keys[k] = k
				}
			}
			h[k] = payloadString(vb)
		}
	}
	// No headers, no map: components that add one allocate it (SetHeader).
	body, err := d.readBytes("body")
	if err != nil {
		return err
	}
	ev.Headers, ev.Body = h, body
	return nil
}

// handshake reads a HandshakeRequest and prepares the response the way
// Avro's Java Responder does. It reports whether the call that follows can
// be read (false: the client must send it again with its protocol).
func (s *ServerSession) handshake(d *decoder) (bool, error) {
	ch, err := d.readFixed("client hash", 16)
	if err != nil {
		return false, err
	}
	clientHash := [16]byte(ch)
	var clientProtocol []byte
	if i, err := d.readUnionIndex("client protocol", 2); err != nil {
		return false, err
	} else if i == 1 {
		if clientProtocol, err = d.readBytes("client protocol"); err != nil {
			return false, err
		}
	}
	sh, err := d.readFixed("server hash", 16)
	if err != nil {
		return false, err
	}
	serverHash := [16]byte(sh)
	if i, err := d.readUnionIndex("handshake metadata", 2); err != nil {
		return false, err
	} else if i == 1 {
		if err := d.skipBytesMap("handshake metadata"); err != nil {
			return false, err
		}
	}

	remote, known := s.protocols.cache.get(clientHash)
	if !known && clientProtocol != nil {
		p, err := parsePeerProtocol(string(clientProtocol))
		if err != nil {
			return false, fmt.Errorf("client protocol: %w", err)
		}
		s.protocols.cache.put(clientHash, p)
		remote, known = p, true
	}
	match := matchNone
	if known {
		match = matchClient
		if serverHash == ProtocolHash {
			match = matchBoth
		}
	}
	s.pending = appendHandshakeResponse(s.pending[:0], match)
	if match != matchNone {
		s.connected, s.remote = true, remote
	}
	return known, nil
}

// appendHandshakeResponse encodes a HandshakeResponse: the server's
// protocol and hash go with every answer but BOTH; meta is always null.
func appendHandshakeResponse(dst []byte, match int) []byte {
	dst = appendLong(dst, int64(match))
	if match == matchBoth {
		return append(dst, 0, 0, 0)
	}
	dst = appendLong(dst, 1)
	dst = appendString(dst, ProtocolJSON)
	dst = appendLong(dst, 1)
	dst = append(dst, ProtocolHash[:]...)
	return append(dst, 0)
}

// AppendReply appends the framed reply to a call: the handshake response,
// if the call carried a handshake, then for append and appendBatch the
// (empty) call metadata, the no-error flag and the status.
func (s *ServerSession) AppendReply(dst []byte, serial int32, kind CallKind, st Status) []byte {
	dst, start := beginFrame(dst)
	dst = append(dst, s.pending...)
	if kind == CallAppend || kind == CallAppendBatch {
		dst = append(dst, 0, 0)
		dst = appendLong(dst, int64(st))
	}
	return finishFrame(dst, start, serial)
}

// AppendError appends a framed system-error reply (the string branch of the
// error union), which a Java client raises as an AvroRemoteException.
func (s *ServerSession) AppendError(dst []byte, serial int32, msg string) []byte {
	dst, start := beginFrame(dst)
	dst = append(dst, s.pending...)
	dst = append(dst, 0, 1, 0)
	dst = appendString(dst, msg)
	return finishFrame(dst, start, serial)
}
