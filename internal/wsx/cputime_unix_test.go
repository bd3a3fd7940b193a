//go:build unix

package wsx_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process used, user and system: on a
// shared machine it varies less than the time elapsed.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
