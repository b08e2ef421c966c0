package spooldir

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directFile reads a file with O_DIRECT where its pages are not in the page
// cache. A spool file is read once: filling the page cache with it costs
// the kernel about a second of CPU per GB on the benchmark machine (twice
// what the whole parse costs), and the cache gains nothing. Pages that are
// cached already (a file written a moment ago) are copied from the cache
// as usual, which is faster than the disk.
type directFile struct {
	f     *os.File // the same file opened with O_DIRECT
	dfd   int      // f's descriptor, read with pread while f is open
	mapfd int      // the buffered descriptor, for mapping
	page  int
}

// openDirect opens f a second time with O_DIRECT, through /proc/self/fd so
// that it is surely the same file. It returns nil where that cannot be
// done (no /proc, a file system without direct I/O such as tmpfs): reading
// then stays buffered.
func openDirect(f *os.File) *directFile {
	fd := rawFD(f)
	if fd < 0 {
		return nil
	}
	df, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	dfd := rawFD(df)
	if dfd < 0 {
		df.Close()
		return nil
	}
	return &directFile{f: df, dfd: dfd, mapfd: fd, page: os.Getpagesize()}
}

// rawFD is f's descriptor (-1 if it has none), valid while f is open.
// Fd() would do, but it switches the file to blocking mode.
func rawFD(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// adviseSequential tells the kernel the file is read once, front to back,
// so it reads further ahead. Only a hint: a failure changes nothing.
func adviseSequential(f *os.File) {
	if fd := rawFD(f); fd >= 0 {
		_ = unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)
	}
}

func (d *directFile) close() {
	if d != nil {
		d.f.Close()
	}
}

// readAt reads len(buf) bytes at off, directly when that is possible and
// useful. handled is false when the caller should read buffered instead:
// the range is cached, or the buffer or offset is not aligned for direct
// I/O. n and err are then meaningless.
func (d *directFile) readAt(buf []byte, off int64) (n int, handled bool, err error) {
	if len(buf) == 0 || off%int64(d.page) != 0 || len(buf)%d.page != 0 ||
		uintptr(unsafe.Pointer(&buf[0]))%uintptr(d.page) != 0 || d.cached(off, len(buf)) {
		return 0, false, nil
	}
	// One pread, not os.File.ReadAt: that loops after a short read, and
	// its second read, at an unaligned offset, fails with EINVAL. The
	// caller finishes a short read buffered.
	for {
		n, err = syscall.Pread(d.dfd, buf, off)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case errors.Is(err, syscall.EINVAL):
		return 0, false, err // refused after all: the caller reads buffered and stops trying
	case err != nil:
		return 0, true, err
	}
	return n, true, nil
}

// cached reports whether every page of [off, off+length) that the file
// has is in the page cache, by mapping the range and asking mincore.
func (d *directFile) cached(off int64, length int) bool {
	var st syscall.Stat_t
	if err := syscall.Fstat(d.mapfd, &st); err != nil || off >= st.Size {
		return true // cannot tell, or nothing to read: buffered is right
	}
	length = int(min(int64(length), st.Size-off))
	m, err := syscall.Mmap(d.mapfd, off, length, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return true // cannot tell: buffered reading is always correct
	}
	defer syscall.Munmap(m)
	vec := make([]byte, (length+d.page-1)/d.page)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(length), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return true
	}
	for _, v := range vec {
		if v&1 == 0 {
			return false
		}
	}
	return true
}
