package fileroll

import (
	"errors"
	"fmt"
	"syscall"
)

// withFree adds to an out-of-space error how much the directory's file
// system has free, so the log line says what and where; the batch stays
// in the channel and is written again once space is freed.
func withFree(dir string, err error) error {
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		return err
	}
	var st syscall.Statfs_t
	if serr := syscall.Statfs(dir, &st); serr != nil {
		return fmt.Errorf("%w (disk full; the batch stays in the channel until space is freed)", err)
	}
	return fmt.Errorf("%w (disk full: %d KiB free in %s; the batch stays in the channel until space is freed)",
		err, st.Bavail*uint64(st.Bsize)>>10, dir)
}
