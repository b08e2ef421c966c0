package netcat

import "strings"

// encoding is one of the ASCII-compatible character sets the source reads.
// Newlines are found byte-wise, which is only correct for these.
type encoding int

const (
	encUTF8 encoding = iota
	encASCII
	encLatin1
)

// lookupEncoding accepts Java's usual names and aliases, ignoring case.
func lookupEncoding(name string) (encoding, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8", "unicode-1-1-utf-8":
		return encUTF8, true
	case "us-ascii", "ascii", "iso646-us", "ascii7", "646", "us", "cp367", "ibm367", "csascii", "default":
		return encASCII, true
	case "iso-8859-1", "iso8859-1", "iso8859_1", "iso_8859-1", "iso_8859_1", "8859_1", "latin1", "l1",
		"iso-ir-100", "ibm819", "cp819", "819", "ibm-819", "csisolatin1", "iso_8859-1:1987":
		return encLatin1, true
	}
	return 0, false
}

// chars counts the characters Java would decode from b, in UTF-16 units:
// that is what Flume's max-line-length measures. For UTF-8 a lead byte of a
// four-byte sequence is two units and continuation bytes are none.
func (e encoding) chars(b []byte) int {
	if e != encUTF8 {
		return len(b)
	}
	n := 0
	for _, c := range b {
		switch {
		case c < 0x80, c >= 0xC0 && c < 0xF0:
			n++
		case c >= 0xF0:
			n += 2
		}
	}
	return n
}

// bodyLen is the size of line once converted to UTF-8.
func (e encoding) bodyLen(line []byte) int {
	if e != encLatin1 {
		return len(line)
	}
	n := len(line)
	for _, c := range line {
		if c >= 0x80 {
			n++
		}
	}
	return n
}

// appendBody appends line, converted to UTF-8, to dst. UTF-8 and ASCII
// input is copied as is (invalid bytes included: the body is opaque).
func (e encoding) appendBody(dst, line []byte) []byte {
	if e != encLatin1 {
		return append(dst, line...)
	}
	for _, c := range line {
		if c < 0x80 {
			dst = append(dst, c)
		} else {
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return dst
}
