package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// readKeys puts a terminal stdin in raw mode (keys arrive one by one,
// without echo) and sends each byte read; restore puts the terminal back.
// A stdin that is not a terminal sends nothing.
func readKeys(in *os.File) (<-chan byte, func()) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, func() {}
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, func() {}
	}
	keys := make(chan byte, 16)
	go func() {
		defer close(keys)
		buf := make([]byte, 1)
		for {
			n, err := in.Read(buf)
			if err != nil {
				return
			}
			if n == 1 {
				keys <- buf[0]
			}
		}
	}()
	return keys, func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
