package plugins

import "syscall"

// sysProcAttr has the kernel kill a plugin when the agent dies, even by
// kill -9, when no cleanup code runs: no plugin outlives its agent. Its
// own process group keeps a terminal's Ctrl-C (or a signal to the agent's
// group) from reaching it: the agent stops its plugins itself, after the
// last batch.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
