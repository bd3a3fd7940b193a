//go:build unix

package wsx

import "syscall"

// canTry says that try works here.
const canTry = true

// try writes p with one system call that does not wait, returning how
// much the socket took.
func (s *sock) try(p []byte) (int, error) {
	var n int
	var werr error
	err := s.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), p)
			if werr != syscall.EINTR {
				break
			}
		}
		return true
	})
	if n < 0 {
		n = 0
	}
	switch {
	case err != nil:
		return n, err
	case werr == syscall.EAGAIN:
		return n, nil
	}
	return n, werr
}
