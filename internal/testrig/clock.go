package testrig

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when the test moves it; it satisfies
// sequencer.Clock. The engine reads it from its own goroutines while the
// test sets it, so every method locks.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t0.
func NewClock(t0 time.Time) *Clock { return &Clock{t: t0} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
