//go:build !linux

package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// receivers need epoll: the broadcast measurement runs on Linux.
type receivers struct {
	frames  atomic.Int64
	arrived chan time.Time
}

func dialReceivers(context.Context, string, string, int) (*receivers, error) {
	return nil, errors.New("the broadcast measurement needs Linux (epoll)")
}

func (r *receivers) expect(int64) {}
func (r *receivers) close()       {}
