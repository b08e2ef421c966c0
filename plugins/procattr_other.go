//go:build !linux

package plugins

import "syscall"

// sysProcAttr: only Linux has a parent-death signal; elsewhere a plugin
// outlives a killed agent until it notices its connection is gone.
func sysProcAttr() *syscall.SysProcAttr { return nil }
