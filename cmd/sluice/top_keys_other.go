//go:build !linux

package main

import "os"

// readKeys: keys are read on Linux only; elsewhere top refreshes until
// Ctrl-C.
func readKeys(*os.File) (<-chan byte, func()) { return nil, func() {} }
