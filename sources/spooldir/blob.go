package spooldir

import (
	"fmt"
	"io"
	"os"
)

// blobReader is Flume's BlobDeserializer: the whole file is one event, or
// several when it is longer than maxBlobLength bytes (each piece at most
// that long). Bytes are passed on unchanged.
type blobReader struct {
	f   *os.File
	off int64
	max int
	eof bool
}

func newBlobReader(f *os.File, off int64, maxLen int) (*blobReader, error) {
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return &blobReader{f: f, off: off, max: maxLen}, nil
}

func (r *blobReader) pos() position { return position{off: r.off} }

func (r *blobReader) close() error { return r.f.Close() }

func (r *blobReader) next(b *batch, n int) error {
	for i := 0; i < n && !r.eof; i++ {
		// Size the body by what the file still holds, so a small file
		// does not cost a maxBlobLength buffer.
		want := r.max
		if st, err := r.f.Stat(); err == nil {
			if left := st.Size() - r.off; left >= 0 && left < int64(want) {
				want = int(left) + 1 // one more byte to see the end
			}
		}
		body := make([]byte, 0, min(want, r.max))
		for len(body) < r.max {
			if len(body) == cap(body) {
				body = append(body, 0)[:len(body)] // grow
			}
			m, err := r.f.Read(body[len(body):min(cap(body), r.max)])
			body = body[:len(body)+m]
			if err == io.EOF {
				r.eof = true
				break
			}
			if err != nil {
				return fmt.Errorf("read at byte %d: %w", r.off+int64(len(body)), err)
			}
		}
		if len(body) == 0 {
			return nil
		}
		b.addOwned(body)
		r.off += int64(len(body))
	}
	return nil
}
