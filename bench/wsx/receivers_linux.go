package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// receivers are the clients of the broadcast measurement, made as lean
// as the measurement allows so that they take little of the CPU the
// server needs: plain sockets that did the WebSocket handshake, read by
// one epoll loop per CPU that only counts the server's data frames (a
// read system call per ready socket, no goroutine per client, no
// allocation per message). What they measure is the moment the last
// client's socket has the whole message, which is what a browser's own
// reader would be woken for.
type receivers struct {
	fds    []int
	eps    []int
	frames atomic.Int64
	stop   atomic.Bool
	wg     sync.WaitGroup
	// arrived receives the time at which frames reaches target.
	target  atomic.Int64
	arrived chan time.Time
}

// frameState is where a socket's byte stream stands between frames.
type frameState struct {
	hdr    [14]byte
	hn     int   // header bytes read
	left   int64 // payload bytes still to come; -1 while in the header
	data   bool  // the frame is the last of a data message
	ping   []byte
	isPing bool
}

// dialReceivers connects n clients to url (ws://host/path), 100
// handshakes at a time.
func dialReceivers(ctx context.Context, addr, path string, n int) (*receivers, error) {
	r := &receivers{fds: make([]int, n), arrived: make(chan time.Time, 1)}
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range r.fds {
		r.fds[i] = -1
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fd, err := handshake(ctx, addr, path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = errors.Join(first, err)
				return
			}
			r.fds[i] = fd
		}()
		mu.Lock()
		err := first
		mu.Unlock()
		if err != nil {
			break
		}
	}
	wg.Wait()
	if first != nil {
		r.close()
		return nil, fmt.Errorf("connecting: %w", first)
	}
	states := make([]frameState, 0)
	for _, fd := range r.fds {
		for fd >= len(states) {
			states = append(states, frameState{left: -1})
		}
	}
	loops := runtime.NumCPU()
	for i := range loops {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			r.close()
			return nil, err
		}
		r.eps = append(r.eps, ep)
		for j := i; j < len(r.fds); j += loops {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(r.fds[j])}
			if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, r.fds[j], &ev); err != nil {
				r.close()
				return nil, err
			}
		}
		r.wg.Add(1)
		go r.loop(ep, states)
	}
	return r, nil
}

// handshake opens a socket to addr and upgrades it, returning the
// socket's own descriptor, non-blocking.
func handshake(ctx context.Context, addr, path string) (int, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var key [16]byte
	rand.Read(key[:])
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, base64.StdEncoding.EncodeToString(key[:]))
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return -1, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return -1, fmt.Errorf("upgrade of %s: %s", path, resp.Status)
	}
	if br.Buffered() > 0 {
		return -1, errors.New("the server sent a frame before any broadcast")
	}
	sc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := sc.Control(func(s uintptr) { fd, err = syscall.Dup(int(s)) })
	if cerr != nil {
		return -1, cerr
	}
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(fd)
	return fd, syscall.SetNonblock(fd, true)
}

// expect arms the measurement: arrived receives the time at which the
// count of data frames received by all clients reaches total.
func (r *receivers) expect(total int64) { r.target.Store(total) }

func (r *receivers) loop(ep int, states []frameState) {
	defer r.wg.Done()
	events := make([]syscall.EpollEvent, 512)
	buf := make([]byte, 64<<10)
	for !r.stop.Load() {
		n, err := syscall.EpollWait(ep, events, 100)
		if err != nil {
			continue // EINTR
		}
		var got int64
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			m, err := syscall.Read(fd, buf)
			if m <= 0 {
				if err != syscall.EAGAIN {
					syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, fd, nil)
				}
				continue
			}
			got += states[fd].feed(fd, buf[:m])
		}
		if got > 0 {
			total, target := r.frames.Add(got), r.target.Load()
			if total >= target && total-got < target {
				select {
				case r.arrived <- time.Now():
				default:
				}
			}
		}
	}
}

// feed takes bytes of the stream of socket fd and returns how many data
// messages they completed; a ping is answered, so that the server keeps
// the client. The server's frames are not masked.
func (s *frameState) feed(fd int, b []byte) int64 {
	var done int64
	for len(b) > 0 {
		if s.left < 0 { // in the header
			s.hdr[s.hn] = b[0]
			s.hn++
			b = b[1:]
			if s.hn < 2 {
				continue
			}
			need := 2
			switch s.hdr[1] & 0x7f {
			case 126:
				need = 4
			case 127:
				need = 10
			}
			if s.hn < need {
				continue
			}
			var l int64
			switch need {
			case 2:
				l = int64(s.hdr[1] & 0x7f)
			case 4:
				l = int64(s.hdr[2])<<8 | int64(s.hdr[3])
			default:
				for _, c := range s.hdr[2:10] {
					l = l<<8 | int64(c)
				}
			}
			s.left, s.hn = l, 0
			s.data = s.hdr[0]&0x80 != 0 && s.hdr[0]&0x08 == 0 // fin, not a control frame
			s.isPing, s.ping = s.hdr[0]&0x0f == 0x9, s.ping[:0]
		}
		k := min(int64(len(b)), s.left)
		if s.isPing {
			s.ping = append(s.ping, b[:k]...)
		}
		b, s.left = b[k:], s.left-k
		if s.left == 0 {
			if s.data {
				done++
			}
			if s.isPing { // pong, masked with a key of zeros
				syscall.Write(fd, append([]byte{0x8a, 0x80 | byte(len(s.ping)), 0, 0, 0, 0}, s.ping...))
			}
			s.left = -1
		}
	}
	return done
}

// close stops the loops and closes the sockets, once.
func (r *receivers) close() {
	if r.stop.Swap(true) {
		return
	}
	r.wg.Wait()
	for _, ep := range r.eps {
		syscall.Close(ep)
	}
	for _, fd := range r.fds {
		if fd >= 0 {
			syscall.Close(fd)
		}
	}
}
