// Package csvgen streams generated prospect lists for import benchmarks
// (cmd/dripbench and sequencer's BenchmarkImport), so that both measure
// the same rows.
package csvgen

import (
	"bytes"
	"fmt"
	"io"
)

// Prospects streams a CSV of rows prospects with distinct addresses: a
// first contact on one of 30 days, a time zone on a fifth of the rows, an
// Italian name on a third, and a custom column. It holds about 64 KiB at
// a time, whatever rows is.
func Prospects(rows int) io.Reader { return &list{rows: rows} }

type list struct {
	rows, next int
	buf        bytes.Buffer
}

func (g *list) Read(p []byte) (int, error) {
	if g.buf.Len() == 0 {
		if g.next > g.rows {
			return 0, io.EOF
		}
		if g.next == 0 {
			g.buf.WriteString("email,first_name,last_name,company,first_contact,timezone,segment\n")
			g.next = 1
		}
		for ; g.next <= g.rows && g.buf.Len() < 64<<10; g.next++ {
			i := g.next
			tz, first := "", "Anna"
			if i%5 == 0 {
				tz = "Europe/Warsaw"
			}
			if i%3 == 0 {
				first = "Niccolò"
			}
			fmt.Fprintf(&g.buf, "prospect%07d@example%d.com,%s%d,Kowalska,Company %d sp. z o.o.,2026-11-%02d,%s,segment-%d\n",
				i, i%100, first, i, i/10, 1+i%30, tz, i%7)
		}
		if g.next > g.rows {
			g.next = g.rows + 1
		}
	}
	return g.buf.Read(p)
}
