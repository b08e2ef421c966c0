package logger

import "github.com/sluiceio/sluice/sinks/serializer"

const hexDigits = "0123456789ABCDEF"

// appendEvent renders an event the way Flume's EventHelper.dumpEvent does:
//
//	{ headers:{k1=v1, k2=v2} body: 48 65 6C 6C 6F ...   Hello }
//
// The body part is a commons-io style hex dump of at most max bytes: lines of
// 16 bytes, each "OOOOOOOO HH HH ... HH  ascii" with the offset of the first
// line removed and no newline after the last. An empty body dumps nothing.
func appendEvent(dst []byte, hf *serializer.HeaderFormatter, headers map[string]string, body []byte, max int) []byte {
	dst = append(dst, "{ headers:"...)
	dst = hf.Append(dst, headers)
	dst = append(dst, " body:"...)
	dst = appendHexDump(dst, body[:min(len(body), max)])
	return append(dst, " }"...)
}

func appendHexDump(dst []byte, data []byte) []byte {
	for off := 0; off < len(data); off += 16 {
		line := data[off:min(off+16, len(data))]
		if off > 0 {
			dst = append(dst, '\n')
			for shift := 28; shift >= 0; shift -= 4 {
				dst = append(dst, hexDigits[(off>>shift)&0xF])
			}
		}
		dst = append(dst, ' ')
		for k := 0; k < 16; k++ {
			if k < len(line) {
				dst = append(dst, hexDigits[line[k]>>4], hexDigits[line[k]&0xF])
			} else {
				dst = append(dst, ' ', ' ')
			}
			dst = append(dst, ' ')
		}
		for _, b := range line {
			if b >= ' ' && b < 0x7F {
				dst = append(dst, b)
			} else {
				dst = append(dst, '.')
			}
		}
	}
	return dst
}
