package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

// Acceptance (issue 15, 2) from the command line: `drip import` rejects
// the rows without a basis with FILE:LINE and the reason, loads the others;
// `drip enroll --basis` enrols, and `drip status E` shows the basis and
// its timeline entry.
func TestRequireBasisFromTheCommandLine(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.write("sequences/consent.yaml", []byte("name: consent\nsteps: 60\ninterval: 10d\nfirst_step_after: 10d\ntimezone: Europe/Warsaw\ntemplates: trade-fair\nrequire_basis: [pl]\n"))

			list := e.write("fair.csv", []byte("email;kraj;język;podstawa_prawna;data_zgody;źródło_zgody\n"+
				"ewa@example.pl;PL;pl;zgoda;20.11.2026;wizytówka zostawiona na stoisku, EIMA 2026\n"+
				"adam@example.pl;PL;pl;;;\n"+
				"luca@example.it;IT;it;;;\n"+
				"olga@example.com;PL;en;;20.11.2026;\n"))
			out, errOut, code := e.drip("import", "--sequence", "consent", list)
			if code != 1 || !strings.Contains(out, "imported=2 updated=0 rejected=2") {
				t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
			}
			for _, want := range []string{
				list + ":3: no lawful basis: sequence consent requires one for prospects of [pl] (require_basis)",
				list + ":5: basis_date or basis_source given without a basis",
			} {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("import output lacks %q:\n%s%s", want, out, errOut)
				}
			}

			_, errOut, code = e.drip("enroll", "--sequence", "consent", "--email", "piotr@example.pl", "--country", "pl")
			if code == 0 || !strings.Contains(errOut, "no lawful basis: sequence consent requires one") {
				t.Errorf("enroll without a basis: exit %d, %q", code, errOut)
			}
			e.mustDrip("enroll", "--sequence", "consent", "--email", "piotr@example.pl", "--country", "pl",
				"--basis", "consent", "--basis-date", "2026-11-21", "--basis-source", "signed form at the stand")

			// A move into the sequence is refused the same way, and leaves
			// the prospect where it was.
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "marta@example.pl", "--language", "pl")
			if _, errOut, code := e.drip("move", "marta@example.pl", "--from", "trade-fair", "--to", "consent"); code != 1 ||
				!strings.Contains(errOut, "no lawful basis: sequence consent requires one") {
				t.Errorf("move without a basis: exit %d, %q", code, errOut)
			}
			if out := e.mustDrip("status", "marta@example.pl"); !regexp.MustCompile(`trade-fair\s+maria\s+active`).MatchString(out) {
				t.Errorf("a refused move changed the enrollment:\n%s", out)
			}

			out = e.mustDrip("status", "ewa@example.pl")
			for _, want := range []string{
				`lawful basis\s+consent since 2026-11-20 \(wizytówka zostawiona na stoisku, EIMA 2026\)`,
				`country\s+PL`,
				`basis\s+consent: wizytówka zostawiona na stoisku, EIMA 2026`,
			} {
				if !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("status ewa@example.pl lacks %s:\n%s", want, out)
				}
			}
			if out := e.mustDrip("status", "piotr@example.pl"); !strings.Contains(out, "consent since 2026-11-21 (signed form at the stand)") {
				t.Errorf("status piotr@example.pl:\n%s", out)
			}
		})
	}
}
