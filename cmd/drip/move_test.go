package main

import (
	"context"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

func TestUnenrollAndMove(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "anna@example.com", "--field", "booth=A1")
			_, errOut, code := e.drip("enroll", "--sequence", "booth", "--email", "anna@example.com")
			if code != 0 || !strings.Contains(errOut, "warning: anna@example.com is also running in sequence trade-fair (active)") {
				t.Errorf("second sequence: exit %d, stderr %q", code, errOut)
			}
			out := e.mustDrip("unenroll", "anna@example.com", "--sequence", "booth")
			if !strings.Contains(out, "unenrolled anna@example.com from booth") {
				t.Errorf("unenroll said %q", out)
			}
			if _, errOut, code := e.drip("unenroll", "anna@example.com", "--sequence", "booth"); code == 0 || !strings.Contains(errOut, "already ended (unenrolled)") {
				t.Errorf("unenroll twice: exit %d %q", code, errOut)
			}
			if _, errOut, code := e.drip("unenroll", "anna@example.com"); code == 0 || !strings.Contains(errOut, "--sequence is required") {
				t.Errorf("unenroll without --sequence: exit %d %q", code, errOut)
			}

			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "bob@example.com", "--field", "booth=B1", "--first-contact", "2026-11-20")
			out = e.mustDrip("move", "bob@example.com", "--from", "trade-fair", "--to", "booth")
			if !strings.Contains(out, "moved bob@example.com from trade-fair (after step 0) to booth (first contact 2026-11-20") {
				t.Errorf("move said %q", out)
			}
			v, err := e.control().ProspectView(context.Background(), "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]store.State{}
			for _, en := range v.Enrollments {
				states[en.Sequence] = en.State
			}
			if states["trade-fair"] != store.StateUnenrolled || states["booth"] != store.StateActive || v.Prospect.Suppressed {
				t.Errorf("after move: %v, suppressed %v", states, v.Prospect.Suppressed)
			}
			if out := e.mustDrip("status", "bob@example.com"); !strings.Contains(out, "unenrolled") {
				t.Errorf("status does not show the unenrolled enrollment:\n%s", out)
			}
		})
	}
}
