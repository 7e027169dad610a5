// Package sequencer holds drip's schedule rules (R1–R8 of the contract) as
// pure functions of (enrollment, sequence, now), and the engine that claims
// due work, renders, sends and records it.
package sequencer

import "time"

// Clock is the engine's source of time; tests inject their own.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
