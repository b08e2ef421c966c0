package interceptors

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// charset converts a body to UTF-8 for matching and back. Only charsets
// whose conversion the standard library makes trivial are supported.
type charset int

const (
	csUTF8 charset = iota
	csLatin1
	csASCII
)

// Java's canonical names and aliases, lower-cased.
var charsetNames = map[string]charset{
	"utf-8": csUTF8, "utf8": csUTF8, "unicode-1-1-utf-8": csUTF8,

	"iso-8859-1": csLatin1, "iso8859_1": csLatin1, "iso8859-1": csLatin1, "iso_8859_1": csLatin1,
	"iso_8859-1": csLatin1, "iso_8859-1:1987": csLatin1, "8859_1": csLatin1, "latin1": csLatin1,
	"l1": csLatin1, "ibm819": csLatin1, "ibm-819": csLatin1, "cp819": csLatin1, "819": csLatin1,
	"csisolatin1": csLatin1, "iso-ir-100": csLatin1,

	"us-ascii": csASCII, "ascii": csASCII, "us": csASCII, "iso646-us": csASCII, "iso_646.irv:1991": csASCII,
	"iso_646.irv:1983": csASCII, "ansi_x3.4-1968": csASCII, "ansi_x3.4-1986": csASCII, "cp367": csASCII,
	"ibm367": csASCII, "csascii": csASCII, "646": csASCII, "ascii7": csASCII, "default": csASCII,
}

func lookupCharset(name string) (charset, error) {
	if cs, ok := charsetNames[strings.ToLower(strings.TrimSpace(name))]; ok {
		return cs, nil
	}
	return csUTF8, fmt.Errorf("%q is not a supported charset (supported: UTF-8, ISO-8859-1, US-ASCII)", name)
}

// decode returns b as UTF-8; for UTF-8 it is b itself.
func (c charset) decode(b []byte) []byte {
	switch c {
	case csLatin1:
		out := make([]byte, 0, len(b)+len(b)/4)
		for _, x := range b {
			out = utf8.AppendRune(out, rune(x))
		}
		return out
	case csASCII:
		out := make([]byte, 0, len(b))
		for _, x := range b {
			if x < 0x80 {
				out = append(out, x)
			} else {
				out = utf8.AppendRune(out, utf8.RuneError)
			}
		}
		return out
	}
	return b
}

// encode converts UTF-8 back; characters the charset lacks become '?', as
// Java's String.getBytes does.
func (c charset) encode(b []byte) []byte {
	if c == csUTF8 {
		return b
	}
	max := rune(0xFF)
	if c == csASCII {
		max = 0x7F
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		if r > max {
			out = append(out, '?')
		} else {
			out = append(out, byte(r))
		}
	}
	return out
}
