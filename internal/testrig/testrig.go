// Package testrig is test support shared by drip's package tests: a
// settable clock, the stores every store-backed test runs on, and a
// polling wait. Only _test.go files import it.
package testrig
