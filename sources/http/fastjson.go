package http

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluiceio/sluice"
)

// fastJSONArray decodes the common shape of the JSON handler's body —
// [{"headers":{"k":"v",...},"body":"..."}, ...] with string values — in
// one pass without reflection. It reports ok=false for anything else
// (numbers, unknown or repeated keys, invalid UTF-8, any syntax error), and
// decodeJSONArray then reads the body the thorough way, with its coercions
// and its error messages. FuzzJSONHandler checks that both agree.
func fastJSONArray(cs charset, txt []byte) (events []*sluice.Event, ok bool) {
	p := fastParser{b: txt}
	p.space()
	if !p.eat('[') {
		return nil, false
	}
	p.space()
	if p.eat(']') {
		return events, p.end()
	}
	for {
		e, ok := p.event(cs)
		if !ok {
			return nil, false
		}
		events = append(events, e)
		p.space()
		if p.eat(']') {
			return events, p.end()
		}
		if !p.eat(',') {
			return nil, false
		}
		p.space()
	}
}

type fastParser struct {
	b   []byte
	i   int
	tmp []byte
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) end() bool {
	p.space()
	return p.i == len(p.b)
}

func (p *fastParser) null() bool {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

func (p *fastParser) event(cs charset) (*sluice.Event, bool) {
	if !p.eat('{') {
		return nil, false
	}
	e := &sluice.Event{}
	var seenH, seenB bool
	p.space()
	if p.eat('}') {
		e.Body = []byte{}
		return e, true
	}
	for {
		p.space()
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.eat(':') {
			return nil, false
		}
		p.space()
		switch {
		case key == "headers" && !seenH:
			seenH = true
			if p.null() {
				break
			}
			if !p.headers(e) {
				return nil, false
			}
		case key == "body" && !seenB:
			seenB = true
			if p.null() {
				break
			}
			s, ok := p.str()
			if !ok {
				return nil, false
			}
			e.Body = encodeBody(cs, s)
		default:
			return nil, false
		}
		p.space()
		if p.eat('}') {
			if e.Body == nil {
				e.Body = []byte{}
			}
			return e, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

func (p *fastParser) headers(e *sluice.Event) bool {
	if !p.eat('{') {
		return false
	}
	p.space()
	if p.eat('}') {
		return true
	}
	e.Headers = make(map[string]string, 4)
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return false
		}
		p.space()
		if !p.eat(':') {
			return false
		}
		p.space()
		v, ok := p.str()
		if !ok {
			return false
		}
		if _, dup := e.Headers[k]; dup {
			return false
		}
		e.Headers[k] = v
		p.space()
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// str reads a JSON string of valid UTF-8.
func (p *fastParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	// The usual case: no escapes, ASCII.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	p.tmp = append(p.tmp[:0], p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(p.tmp), true
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return "", false
			}
			p.tmp = append(p.tmp, p.b[p.i:p.i+n]...)
			p.i += n
		case c != '\\':
			p.tmp = append(p.tmp, c)
			p.i++
		default:
			if p.i+1 >= len(p.b) {
				return "", false
			}
			esc := p.b[p.i+1]
			p.i += 2
			switch esc {
			case '"', '\\', '/':
				p.tmp = append(p.tmp, esc)
			case 'b':
				p.tmp = append(p.tmp, '\b')
			case 'f':
				p.tmp = append(p.tmp, '\f')
			case 'n':
				p.tmp = append(p.tmp, '\n')
			case 'r':
				p.tmp = append(p.tmp, '\r')
			case 't':
				p.tmp = append(p.tmp, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", false
				}
				if utf16.IsSurrogate(r) {
					// Only a proper pair; encoding/json's handling of
					// lone halves is left to the slow path.
					if !(p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u') {
						return "", false
					}
					p.i += 2
					r2, ok := p.hex4()
					if !ok {
						return "", false
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return "", false
					}
				}
				p.tmp = utf8.AppendRune(p.tmp, r)
			default:
				return "", false
			}
		}
	}
	return "", false
}

func (p *fastParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
