package main

import "syscall"

// childAttr makes the kernel send SIGTERM to a server if the benchmark
// dies without stopping it (SIGKILL, or SIGPIPE when its output goes to a
// pipe that was closed), so no server outlives the run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
