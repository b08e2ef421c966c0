//go:build !unix

package wal

import (
	"errors"
	"os"
)

// LockFile is the name of the lock file kept in every directory a channel uses.
const LockFile = "in_use.lock"

// Lock is not supported on this platform.
func Lock(dir string) (*os.File, error) {
	return nil, errors.New("the file channel needs flock, which this platform lacks")
}
