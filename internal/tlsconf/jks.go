package tlsconf

import (
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
)

// jksCertsUnchecked reads the certificates of a JKS file without its
// password: trusted-certificate entries and the first certificate of each
// key entry (the key itself stays encrypted and is skipped). Like Java
// given no password, it does not check the file's integrity digest.
func jksCertsUnchecked(data []byte) ([]*x509.Certificate, error) {
	r := jksReader{b: data}
	if r.u32() != 0xfeedfeed {
		return nil, errors.New("JKS: bad magic")
	}
	version := r.u32()
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("JKS: unknown version %d", version)
	}
	n := r.u32()
	var out []*x509.Certificate
	for i := uint32(0); i < n && r.err == nil; i++ {
		tag := r.u32()
		r.utf()   // alias
		r.skip(8) // timestamp
		readCert := func() []byte {
			if version == 2 {
				r.utf() // certificate type
			}
			return r.bytes(int(r.u32()))
		}
		switch tag {
		case 1: // private key entry
			r.skip(int(r.u32()))
			chain := r.u32()
			for j := uint32(0); j < chain && r.err == nil; j++ {
				c := readCert()
				if j == 0 && r.err == nil {
					cert, err := x509.ParseCertificate(c)
					if err != nil {
						return nil, fmt.Errorf("JKS entry %d: %w", i, err)
					}
					out = append(out, cert)
				}
			}
		case 2: // trusted certificate entry
			c := readCert()
			if r.err == nil {
				cert, err := x509.ParseCertificate(c)
				if err != nil {
					return nil, fmt.Errorf("JKS entry %d: %w", i, err)
				}
				out = append(out, cert)
			}
		default:
			return nil, fmt.Errorf("JKS entry %d: unknown tag %d", i, tag)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("JKS: %w", r.err)
	}
	return out, nil
}

type jksReader struct {
	b   []byte
	off int
	err error
}

func (r *jksReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = errors.New("truncated")
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func (r *jksReader) skip(n int) { r.bytes(n) }

func (r *jksReader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *jksReader) utf() {
	b := r.bytes(2)
	if b != nil {
		r.skip(int(binary.BigEndian.Uint16(b)))
	}
}
