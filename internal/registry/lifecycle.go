package registry

import (
	"context"
	"sync"
	"time"
)

// SwapPolicy says how the running form of a changed object replaces the
// running form of its previous version.
type SwapPolicy int

// Swap policies.
const (
	// Overlap starts the new running form before the old one stops, so
	// both serve for a moment: right for clients of stateless remote
	// systems, such as an HTTP connection pool. It is the default.
	Overlap SwapPolicy = iota
	// StopThenStart stops the old running form, and waits for its Run to
	// return, before the new one's Run starts: right for exclusive
	// consumers and for systems that limit the connections a client may
	// open.
	StopThenStart
	// Handover gives the old running form to the new one before the old
	// one stops (see Successor), so the new one can take its listening
	// sockets and connected clients over.
	Handover
)

// String returns the policy's name as the docs spell it.
func (p SwapPolicy) String() string {
	switch p {
	case StopThenStart:
		return "stop-then-start"
	case Handover:
		return "handover"
	}
	return "overlap"
}

// Runner is a running form with long-lived work in the background:
// connecting to a remote system, consuming from it, listening.
//
// The runtime calls Run in a goroutine of its own once the change that
// made the running form is committed (never on a dry run), with a context
// that ends when the running form is replaced or deleted, or the server
// stops. Run reports what it is doing through st: st.Running() once it is
// connected, st.Degraded(err) while it retries after a failure. It
// returns:
//
//   - nil when ctx is done, or when its work is finished for good;
//   - an error when it gave up: the runtime marks the object degraded with
//     that error and calls Run again after a back-off (1s, doubling, at
//     most 30s).
//
// Run must stop within a few seconds of ctx ending. The running form is
// closed (io.Closer) only after Run has returned.
type Runner interface {
	Run(ctx context.Context, st *Status) error
}

// Successor is a running form that takes state over from the running form
// of its object's previous version, for kinds with the Handover policy:
// the runtime calls TakeOver(old) once the change is committed, before
// the old form's Run is stopped and it is closed. TakeOver must not do
// I/O to remote systems.
type Successor interface {
	TakeOver(old any)
}

// States of a running object.
const (
	// StateConnecting: Run has started and is not connected yet.
	StateConnecting = "connecting"
	// StateRunning: connected and working.
	StateRunning = "running"
	// StateDegraded: the last attempt failed; Error says why, and the
	// object retries.
	StateDegraded = "degraded"
	// StateStopped: not running (inactive, or Run returned for good).
	StateStopped = "stopped"
)

// StatusInfo is a snapshot of an object's status, as the admin API shows
// it.
type StatusInfo struct {
	State string `json:"state"`
	// Error is the last error, while degraded.
	Error string `json:"error,omitempty"`
	// Since is when the object entered the state.
	Since time.Time `json:"since"`
}

// Status is the live status of one running object. It is safe for
// concurrent use; a state set again keeps its Since.
type Status struct {
	mu   sync.Mutex
	info StatusInfo
	// onChange is called with the new state after every change of state.
	onChange func(StatusInfo)
}

// NewStatus returns a status in a state, since now. onChange, when not
// nil, is called after every change of state, outside the status's lock.
func NewStatus(state string, onChange func(StatusInfo)) *Status {
	return &Status{info: StatusInfo{State: state, Since: time.Now()}, onChange: onChange}
}

// Running records that the object is connected and working.
func (s *Status) Running() { s.set(StateRunning, "") }

// Connecting records that the object is connecting.
func (s *Status) Connecting() { s.set(StateConnecting, "") }

// Stopped records that the object does not run.
func (s *Status) Stopped() { s.set(StateStopped, "") }

// Degraded records a failure the object is retrying after. The error's
// text is shown to admins: it must hold no secret.
func (s *Status) Degraded(err error) {
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	s.set(StateDegraded, msg)
}

// Info returns a snapshot of the status.
func (s *Status) Info() StatusInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *Status) set(state, msg string) {
	s.mu.Lock()
	if s.info.State == state && s.info.Error == msg {
		s.mu.Unlock()
		return
	}
	if s.info.State != state {
		s.info.Since = time.Now()
	}
	s.info.State, s.info.Error = state, msg
	info, fn := s.info, s.onChange
	s.mu.Unlock()
	if fn != nil {
		fn(info)
	}
}
