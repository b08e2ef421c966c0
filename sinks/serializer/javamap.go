package serializer

import (
	"sort"
	"unicode/utf8"
)

// HeaderFormatter renders headers as Java's Map.toString does for the
// HashMap Flume keeps them in: "{k1=v1, k2=v2}", "{}" when empty. Flume's
// output order is HashMap iteration order, so the formatter reproduces it:
// entries sorted by the bucket java.util.HashMap would put them in (for a map
// filled by put from empty, as Flume's sources do), ties broken by key where
// Java would use insertion order, which a Go map does not keep.
//
// A HeaderFormatter reuses its scratch space; it is not safe for concurrent use.
type HeaderFormatter struct {
	scratch []javaEntry
}

type javaEntry struct {
	bucket uint32
	key    string
}

// Append appends the rendering of h to dst.
func (f *HeaderFormatter) Append(dst []byte, h map[string]string) []byte {
	dst = append(dst, '{')
	if len(h) == 0 {
		return append(dst, '}')
	}
	// HashMap starts with 16 buckets and doubles when its size exceeds 3/4
	// of the table.
	n := uint32(16)
	for uint64(len(h)) > uint64(n)*3/4 {
		n *= 2
	}
	es := f.scratch[:0]
	for k := range h {
		es = append(es, javaEntry{bucket: javaSpread(javaStringHash(k)) & (n - 1), key: k})
	}
	if len(es) > 1 {
		sort.Slice(es, func(i, j int) bool {
			if es[i].bucket != es[j].bucket {
				return es[i].bucket < es[j].bucket
			}
			return es[i].key < es[j].key
		})
	}
	for i, e := range es {
		if i > 0 {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, e.key...)
		dst = append(dst, '=')
		dst = append(dst, h[e.key]...)
	}
	f.scratch = es[:0]
	return append(dst, '}')
}

// FormatHeaders renders h as Java's HashMap.toString would.
func FormatHeaders(h map[string]string) string {
	var f HeaderFormatter
	return string(f.Append(nil, h))
}

// javaStringHash is java.lang.String.hashCode: s[0]*31^(n-1) + ... over
// UTF-16 code units, in 32-bit wrapping arithmetic. Invalid UTF-8 counts as
// U+FFFD, which is what Java's decoder would have produced.
func javaStringHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = 31*h + uint32(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + uint32(0xD800+(r>>10))
			h = 31*h + uint32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + uint32(r)
	}
	return h
}

// javaSpread is HashMap.hash: the high half folded into the low half.
func javaSpread(h uint32) uint32 { return h ^ (h >> 16) }
