package syslog

// maxLenDigits bounds the MSG-LEN of an octet-counted frame (RFC 6587
// 3.4.1): nine digits is under a gigabyte, far beyond any event size.
const maxLenDigits = 9

// Framer splits a TCP stream into messages of at most Max bytes. Each
// frame is either a line ending in LF (RFC 6587 non-transparent framing,
// what Flume reads; a CR before the LF is dropped) or, when it starts with
// a digit, "MSG-LEN SP MSG" (octet counting). A message longer than Max is
// cut: its first Max bytes are one message, marked cut, and the rest is
// read as the following messages, as Flume does. Empty lines are skipped.
// A Framer keeps state between calls; one serves one connection.
type Framer struct {
	Max int
	// rest is what is left of an octet-counted frame that was cut.
	rest int
	// inLine says a line was cut and its rest comes next: it is read up to
	// its newline, never as an octet count.
	inLine bool
}

// Next finds the next message at the start of data. It returns how many
// bytes of data it used, the message (a slice of data, valid until data
// changes) and whether it was cut at Max. n == 0 means data holds no
// complete message yet; with atEOF (no more data will come) whatever is
// left is returned as a last message, cut if an octet count promised more.
// n > 0 with a nil msg means bytes were skipped.
func (f *Framer) Next(data []byte, atEOF bool) (n int, msg []byte, cut bool) {
	if len(data) == 0 {
		return 0, nil, false
	}
	if f.rest > 0 {
		want := min(f.rest, f.Max)
		if len(data) < want {
			if !atEOF {
				return 0, nil, false
			}
			f.rest = 0
			return len(data), data, true
		}
		f.rest -= want
		return want, trimEOL(data[:want]), f.rest > 0
	}
	if f.inLine {
		return f.line(data, atEOF)
	}
	if data[0] == '\n' || data[0] == '\r' && len(data) > 1 && data[1] == '\n' {
		i := 0
		for i < len(data) && (data[i] == '\n' || data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n') {
			i++
		}
		return i, nil, false
	}
	if data[0] >= '1' && data[0] <= '9' {
		i := 1
		for i < len(data) && i <= maxLenDigits && isDigit(data[i]) {
			i++
		}
		switch {
		case i < len(data) && i <= maxLenDigits && data[i] == ' ':
			size := atoi(string(data[:i]))
			h := i + 1
			want := min(size, f.Max)
			if len(data)-h < want {
				if !atEOF {
					return 0, nil, false
				}
				return len(data), data[h:], true
			}
			f.rest = size - want
			return h + want, trimEOL(data[h : h+want]), f.rest > 0
		case i == len(data) && i <= maxLenDigits && !atEOF:
			return 0, nil, false // the length may go on
		}
		// Not an octet count: a line (which the parser will find Invalid).
	}
	return f.line(data, atEOF)
}

// line frames a line ending in LF (a CR before it dropped), cut at Max.
func (f *Framer) line(data []byte, atEOF bool) (n int, msg []byte, cut bool) {
	// Max bytes, then CR LF at the most, decide whether the line fits.
	lim := min(len(data), f.Max+2)
	for i, c := range data[:lim] {
		if c != '\n' {
			continue
		}
		line := data[:i]
		if i > 0 && line[i-1] == '\r' {
			line = line[:i-1]
		}
		if len(line) > f.Max {
			break
		}
		f.inLine = false
		if len(line) == 0 {
			return i + 1, nil, false // e.g. the newline right after a cut
		}
		return i + 1, line, false
	}
	waitCRLF := len(data) == f.Max+1 && data[f.Max] == '\r' && !atEOF
	if len(data) > f.Max && !waitCRLF {
		f.inLine = true
		return f.Max, data[:f.Max], true
	}
	if atEOF {
		f.inLine = false
		return len(data), trimEOL(data), false
	}
	return 0, nil, false
}

// trimEOL drops one trailing LF or CRLF, which some senders put inside an
// octet-counted frame too.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n > 1 && b[n-2] == '\r' {
			b = b[:n-2]
		}
	}
	return b
}
