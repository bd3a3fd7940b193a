package scheduler

import "time"

// Clock tells the time and makes timers. The scheduler takes one so tests
// can drive time by hand; servers use SystemClock.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer is a one-shot timer that can be re-armed. After Reset or Stop
// returns, no value from an earlier arming is received (as with time.Timer
// since Go 1.23).
type Timer interface {
	// C returns the channel the timer sends on when it fires.
	C() <-chan time.Time
	// Reset arms the timer to fire after d (at once when d <= 0).
	Reset(d time.Duration)
	// Stop disarms the timer.
	Stop()
}

// SystemClock is the real clock. It is safe for concurrent use.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a stopped time.Timer.
func (SystemClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return systemTimer{t}
}

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop()                 { s.t.Stop() }
