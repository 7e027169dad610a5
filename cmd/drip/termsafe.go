package main

import (
	"io"
	"unicode/utf8"
)

// termSafe writes to a terminal what stored data holds, minus its control
// characters: ESC and the rest of C0 (but tab and line feed, which the
// output's own layout uses), DEL, C1, and the bidirectional overrides that
// reorder what a line shows. Input refuses them today; data stored before
// that, or by another door, must still not drive the operator's terminal.
type termSafe struct{ w io.Writer }

func (t termSafe) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n == 1: // a lone byte: 0x9b is CSI to some terminals
			out = append(out, '?')
		case r == '\t' || r == '\n':
			out = append(out, p[i])
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			out = append(out, '?')
		default:
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
