package main

import (
	"context"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

func TestPauseResumeUnsubscribeForget(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "anna@example.com", "--first-name", "Anna")
			e.mustDrip("enroll", "--sequence", "booth", "--email", "anna@example.com", "--field", "booth=B1")

			steps := []struct {
				args []string
				code int
				out  string // in stdout (exit 0) or stderr
			}{
				{[]string{"pause"}, 2, "want one email address"},
				{[]string{"pause", "nobody@example.com"}, 1, "drip pause: no prospect nobody@example.com"},
				{[]string{"pause", "Anna@Example.com"}, 0, "paused Anna@Example.com in trade-fair after step 0\npaused Anna@Example.com in booth after step 0"},
				{[]string{"pause", "anna@example.com"}, 0, "nothing to pause: anna@example.com has no active enrollment (paused in trade-fair, paused in booth)"},
				{[]string{"resume", "anna@example.com"}, 0, "resumed anna@example.com in trade-fair: next step 1 at "},
				{[]string{"resume", "anna@example.com"}, 0, "nothing to resume"},
				{[]string{"unsubscribe", "anna@example.com"}, 0, "unsubscribed anna@example.com: suppressed, its enrollments ended"},
				{[]string{"unsubscribe", "anna@example.com"}, 0, "unsubscribed anna@example.com"},
				{[]string{"resume", "anna@example.com"}, 0, "nothing to resume: anna@example.com has no paused or replied enrollment (unsubscribed in trade-fair, unsubscribed in booth)"},
				{[]string{"enroll", "--sequence", "trade-fair", "--email", "anna@example.com"}, 1, "anna@example.com is suppressed"},
				{[]string{"unsubscribe", "stranger@example.com"}, 0, "stranger@example.com is not a prospect; suppressed it all the same"},
				{[]string{"enroll", "--sequence", "trade-fair", "--email", "stranger@example.com"}, 1, "stranger@example.com is suppressed"},
				{[]string{"unsubscribe", "not an address"}, 1, "invalid address"},
				{[]string{"forget", "anna@example.com"}, 0, "forgot anna@example.com: personal data erased"},
				{[]string{"forget", "anna@example.com"}, 1, "drip forget: no prospect anna@example.com"},
				{[]string{"status", "anna@example.com"}, 1, "drip status: no prospect anna@example.com"},
				{[]string{"enroll", "--sequence", "trade-fair", "--email", "anna@example.com"}, 1, "anna@example.com is suppressed"},
			}
			for _, s := range steps {
				out, errOut, code := e.drip(s.args...)
				got := out
				if s.code != 0 {
					got = errOut
				}
				if code != s.code || !strings.Contains(got, s.out) {
					t.Errorf("drip %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(s.args, " "), code, out, errOut, s.code, s.out)
				}
			}

			// A forgotten prospect's list row is refused too.
			list := e.write("again.csv", []byte("email,booth\nanna@example.com,B1\n"))
			_, errOut, code := e.drip("import", "--sequence", "booth", list)
			if code != 1 || !strings.Contains(errOut, "again.csv:2: address is suppressed") {
				t.Errorf("importing a forgotten address: exit %d, %q", code, errOut)
			}
			st, err := e.control().Stats(context.Background(), "trade-fair")
			if err != nil {
				t.Fatal(err)
			}
			if st.Enrollments[store.StateUnsubscribed] != 1 || st.Enrollments[store.StateActive] != 0 {
				t.Errorf("trade-fair after forget: %v", st.Enrollments)
			}
		})
	}
}
