package spooldir

import (
	"strings"
	"unicode/utf8"
)

// charset is one of the ASCII-compatible character sets the LINE
// deserializer reads and writes. Lines are found by their '\n' byte, which
// these sets all share.
type charset int

const (
	csUTF8 charset = iota
	csASCII
	csLatin1
)

const charsetNames = "UTF-8, US-ASCII, ISO-8859-1"

// lookupCharset accepts Java's names and common aliases of the supported sets.
func lookupCharset(name string) (charset, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("-", "", "_", "").Replace(n)
	switch n {
	case "utf8":
		return csUTF8, true
	case "usascii", "ascii", "us", "iso646us", "ascii7", "646", "cp367", "default":
		return csASCII, true
	case "iso88591", "latin1", "l1", "cp819", "ibm819", "iso8859", "88591", "819":
		return csLatin1, true
	}
	return 0, false
}

func (c charset) String() string {
	switch c {
	case csASCII:
		return "US-ASCII"
	case csLatin1:
		return "ISO-8859-1"
	}
	return "UTF-8"
}

// decodeRune reads one character of c from b (len(b) > 0). bad reports a
// malformed sequence of size bytes (Java's CharsetDecoder view: for UTF-8,
// the maximal invalid subpart, so one replacement per broken sequence).
func (c charset) decodeRune(b []byte) (r rune, size int, bad bool) {
	switch c {
	case csLatin1:
		return rune(b[0]), 1, false
	case csASCII:
		if b[0] >= 0x80 {
			return utf8.RuneError, 1, true
		}
		return rune(b[0]), 1, false
	}
	if b[0] < utf8.RuneSelf {
		return rune(b[0]), 1, false
	}
	r, size = utf8.DecodeRune(b)
	if r != utf8.RuneError || size > 1 {
		return r, size, false
	}
	return utf8.RuneError, maximalSubpart(b), true
}

// maximalSubpart is the length of the longest prefix of b that starts a
// UTF-8 sequence without completing a valid one (at least 1): the unit
// Java's decoder reports as malformed and replaces with one U+FFFD.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEF:
		// An encoded surrogate (ED A0..BF xx) is one malformed
		// sequence of three bytes to Java, so ED takes any continuation.
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for i := 1; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}

// appendRune encodes r in c; characters c cannot hold become '?', as Java's
// String.getBytes does.
func (c charset) appendRune(dst []byte, r rune) []byte {
	switch c {
	case csLatin1:
		if r > 0xFF {
			return append(dst, '?')
		}
		return append(dst, byte(r))
	case csASCII:
		if r > 0x7F {
			return append(dst, '?')
		}
		return append(dst, byte(r))
	}
	if r < utf8.RuneSelf {
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// units is the number of Java chars (UTF-16 code units) r takes: what
// maxLineLength counts.
func units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
