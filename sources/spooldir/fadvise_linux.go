package spooldir

import (
	"os"

	"golang.org/x/sys/unix"
)

// adviseSequential tells the kernel the file is read once, front to back,
// so it reads further ahead. Only a hint: a failure changes nothing.
func adviseSequential(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.Fadvise(int(fd), 0, 0, unix.FADV_SEQUENTIAL)
	})
}
