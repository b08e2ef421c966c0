package avroipc

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"
)

// A peer whose protocol hash differs from ProtocolHash sends (or is sent)
// its protocol text in the handshake. Java would resolve each call between
// the two schemas; this package instead accepts a peer's message only when
// its parameters and response are the same Avro types as Flume's (same
// canonical form, so the same bytes), and refuses it clearly otherwise.

// peerProtocol says, per message name, whether a peer's protocol carries
// that message in a layout this package reads and writes.
type peerProtocol struct {
	reasons map[string]string // "" = compatible, else why not; absent = no such message
}

// compatible returns nil when the peer's message name is usable.
func (p *peerProtocol) compatible(name string) error {
	if p == nil {
		return nil // the peer speaks ProtocolJSON itself
	}
	reason, ok := p.reasons[name]
	if !ok {
		return fmt.Errorf("no such remote message: %s", name)
	}
	if reason != "" {
		return fmt.Errorf("remote message %s is incompatible with Flume's: %s", name, reason)
	}
	return nil
}

type messageShape struct {
	params   []string // canonical forms of the parameter types
	response string
	oneWay   bool
}

var ownShapes = sync.OnceValue(func() map[string]messageShape {
	p, err := avro.ParseProtocol(ProtocolJSON)
	if err != nil {
		panic("avroipc: Flume's protocol does not parse: " + err.Error())
	}
	return shapes(p)
})

func shapes(p *avro.Protocol) map[string]messageShape {
	out := map[string]messageShape{}
	for _, name := range []string{MsgAppend, MsgAppendBatch} {
		m := p.Message(name)
		if m == nil {
			continue
		}
		var s messageShape
		if req := m.Request(); req != nil {
			for _, f := range req.Fields() {
				s.params = append(s.params, f.Type().String())
			}
		}
		if r := m.Response(); r != nil {
			s.response = r.String()
		}
		s.oneWay = m.OneWay()
		out[name] = s
	}
	return out
}

// parsePeerProtocol checks a peer's protocol text against Flume's. Peer text
// is untrusted: a panic in the parser is turned into an error.
func parsePeerProtocol(text string) (pp *peerProtocol, err error) {
	defer func() {
		if r := recover(); r != nil {
			pp, err = nil, fmt.Errorf("protocol text does not parse: %v", r)
		}
	}()
	p, err := avro.ParseProtocol(text)
	if err != nil {
		return nil, fmt.Errorf("protocol text does not parse: %w", err)
	}
	own := ownShapes()
	theirs := shapes(p)
	pp = &peerProtocol{reasons: map[string]string{}}
	for name, t := range theirs {
		o := own[name]
		var why []string
		if strings.Join(t.params, ",") != strings.Join(o.params, ",") {
			why = append(why, fmt.Sprintf("parameters %v, want %v", t.params, o.params))
		}
		if t.response != o.response {
			why = append(why, fmt.Sprintf("response %s, want %s", t.response, o.response))
		}
		if t.oneWay != o.oneWay {
			why = append(why, "one-way differs")
		}
		pp.reasons[name] = strings.Join(why, "; ")
	}
	return pp, nil
}

// protocolCache remembers peers' protocols by hash, as Java's Responder and
// Requestor do, but bounded: a peer cannot grow it without limit.
type protocolCache struct {
	mu sync.Mutex
	m  map[[16]byte]*peerProtocol
}

const maxCachedProtocols = 64

func (c *protocolCache) get(h [16]byte) (*peerProtocol, bool) {
	if h == ProtocolHash {
		return nil, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[h]
	return p, ok
}

func (c *protocolCache) put(h [16]byte, p *peerProtocol) {
	if h == ProtocolHash {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[[16]byte]*peerProtocol{}
	}
	if len(c.m) >= maxCachedProtocols {
		return
	}
	c.m[h] = p
}
