//go:build !linux

package main

import "syscall"

// childAttr returns nil: only Linux can have a server stopped when the
// benchmark dies without stopping it.
func childAttr() *syscall.SysProcAttr { return nil }
