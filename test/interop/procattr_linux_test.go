package interop

import "syscall"

// sysProcAttr kills a sluice process if the test binary dies first (a
// timeout or a crash), so no agent is left holding its ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
