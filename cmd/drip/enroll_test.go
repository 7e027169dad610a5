package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
)

func TestEnroll(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			out := e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "Ann.Lee@Example.com",
				"--first-name", "Ann", "--last-name", "Lee", "--company", "Lee & Co", "--title", "CTO",
				"--phone", "+1 555 0100", "--met-at", "CES 2026", "--first-contact", "2026-11-20",
				"--timezone", "America/New_York", "--language", "en", "--notes", "wants a demo",
				"--field", "booth=B12", "--field", "product=drills")
			want := "enrolled Ann.Lee@Example.com in trade-fair (sender maria, first contact 2026-11-20 00:00:00 -05:00): next step 1 at 2026-11-30 00:00:00 -05:00"
			if strings.TrimSpace(out) != want {
				t.Errorf("enroll printed\n%s\nwant\n%s", out, want)
			}
			out = e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "ann.lee@example.com", "--sender", "piotr")
			if !strings.Contains(out, "already enrolled in trade-fair (active, step 0 of 60)") {
				t.Errorf("second enroll printed %q", out)
			}

			v, err := e.control().ProspectView(context.Background(), "ann.lee@example.com")
			if err != nil {
				t.Fatal(err)
			}
			p := v.Prospect
			if p.FirstName != "Ann" || p.Company != "Lee & Co" || p.Title != "CTO" || p.Phone != "+1 555 0100" ||
				p.MetAt != "CES 2026" || p.Language != "en" || p.Notes != "wants a demo" ||
				p.Fields["booth"] != "B12" || p.Fields["product"] != "drills" || p.Timezone != "America/New_York" {
				t.Errorf("stored prospect %+v", p)
			}
			if len(v.Enrollments) != 1 || v.Enrollments[0].Sender != "maria" {
				t.Errorf("enrollments %+v: want one, with the default sender kept", v.Enrollments)
			}

			// A first contact 95 days ago: steps 1..9 are past due; the
			// latest of them is due now and the others will be skipped (R3).
			past := time.Now().AddDate(0, 0, -95).Format("2006-01-02")
			out = e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "late@example.com", "--first-contact", past)
			m := regexp.MustCompile(`next step (\d+) at (.*)$`).FindStringSubmatch(strings.TrimSpace(out))
			if m == nil || m[1] != "9" {
				t.Fatalf("late enrollment printed %q, want next step 9", out)
			}
			if at, err := time.Parse(timeLayout, m[2]); err != nil || at.After(time.Now()) {
				t.Errorf("late enrollment's next send %q is not due now (%v)", m[2], err)
			}
		})
	}
}

func TestEnrollRefusesBadInput(t *testing.T) {
	e := newCLIEnv(t, "sqlite:"+t.TempDir()+"/drip.db")
	base := []string{"enroll", "--sequence", "trade-fair", "--email", "x@example.com"}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"enroll", "--sequence", "trade-fair"}, 2, "--sequence and --email are required"},
		{[]string{"enroll", "--sequence", "trade-fair", "--email", "x@example.com", "extra"}, 2, "unexpected argument"},
		{[]string{"enroll", "--sequence", "trade-fair", "--email", "not-an-address"}, 1, `invalid address "not-an-address"`},
		{[]string{"enroll", "--sequence", "trade-fair", "--email", "Eve <eve@example.com>"}, 1, "invalid address"},
		{append(base, "--first-name", "Eve\r\nBcc: victim@example.org"), 1, "line break inside field first_name"},
		{append(base, "--title", "a\nb"), 1, "line break inside field title"},
		{append(base, "--timezone", "Mars/Olympus"), 1, `unknown time zone "Mars/Olympus"`},
		{append(base, "--timezone", "Local"), 1, `unknown time zone "Local"`},
		{append(base, "--first-contact", "31/02/2026"), 1, `first_contact "31/02/2026" is not a valid date`},
		{append(base, "--field", "noequals"), 2, "want KEY=VALUE"},
		{[]string{"enroll", "--sequence", "nope", "--email", "x@example.com"}, 1, `no sequence "nope" (have: booth, trade-fair)`},
		{append(base, "--sender", "nobody"), 1, `no sender "nobody" (have: maria, piotr)`},
		{[]string{"enroll", "--sequence", "booth", "--email", "x@example.com"}, 1, `missing custom field "booth"`},
	} {
		out, errOut, code := e.drip(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("drip %q: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
		if code == 1 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("drip %q: error is not one line: %q", tc.args, errOut)
		}
	}
	if _, err := e.control().ProspectView(context.Background(), "x@example.com"); err == nil {
		t.Error("a refused enrollment stored the prospect")
	}
}
