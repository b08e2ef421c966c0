//go:build unix

package peers

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort reserves p against other processes: an exclusive flock on
// <portLockDir>/<p>, which the kernel drops when this process exits however
// it ends. ok is false only when another process holds it; a lock directory
// that cannot be used reserves nothing (f nil) and lets the port through.
func lockPort(p int) (f *os.File, ok bool) {
	dir := portLockDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, true
	}
	_ = os.Chmod(dir, 0o777|os.ModeSticky) // other users' tests share it
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return nil, true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false
		}
		return nil, true
	}
	return f, true
}

func unlockPort(f *os.File) {
	if f != nil {
		f.Close() // closing the only descriptor drops the flock
	}
}
