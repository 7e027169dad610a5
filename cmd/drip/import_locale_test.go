package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/drip-email/drip/internal/testrig"
)

// Issue 17's exports as they come: Polish Excel (Windows-1250, no BOM)
// and Italian Excel (Windows-1252; and "CSV UTF-8", with a BOM), ';', the
// local column names and DD.MM.YYYY dates, imported without --encoding.
func TestImportItalianAndPolishExports(t *testing.T) {
	polish := "E-mail;Imię;Nazwisko;Firma;Stanowisko;Targi;Data kontaktu;Uwagi\r\n" +
		"zolc@example.pl;Żaneta;Żółć;Łódzkie Zakłady Mięsne;Kierownik działu;Targi Kielce;24.11.2026;\"Zadzwonić\r\nw styczniu\"\r\n"
	italian := "Email;Nome;Cognome;Azienda;Ruolo;Fiera;Data contatto;Note\r\n" +
		"giulia@example.it;Giulia;Esposito;Caffè Città;Direttrice;EIMA Bologna;23.11.2026;Listino\r\n"
	enc := func(cm *charmap.Charmap, s string) []byte {
		b, err := cm.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			for _, tc := range []struct {
				file     string
				data     []byte
				encoding string
			}{
				{"polski.csv", enc(charmap.Windows1250, polish), "windows-1250 (detected)"},
				{"italiano.csv", enc(charmap.Windows1252, italian), "windows-1252 (detected)"},
				{"italiano-utf8.csv", append([]byte("\xef\xbb\xbf"), strings.ReplaceAll(italian, "giulia@", "giulia2@")...), "utf-8 (byte order mark)"},
			} {
				path := e.write(tc.file, tc.data)
				out, errOut, code := e.drip("import", "--sequence", "trade-fair", path)
				if code != 0 || strings.TrimSpace(out) != "imported=1 updated=0 rejected=0" {
					t.Fatalf("%s: exit %d %q\n%s", tc.file, code, out, errOut)
				}
				// The mapping report names the encoding and every column.
				if !strings.Contains(errOut, path+": "+tc.encoding+", delimiter ';', 8 columns\n") {
					t.Errorf("%s: the mapping report does not say %q:\n%s", tc.file, tc.encoding, errOut)
				}
				header := strings.Split(strings.SplitN(polish, "\r\n", 2)[0], ";")
				want := []string{"email (alias)", "first_name (alias)", "last_name (alias)", "company (alias)", "title (alias)", "met_at (alias)", "first_contact (alias)", "notes (alias)"}
				if tc.file != "polski.csv" {
					header = strings.Split(strings.SplitN(italian, "\r\n", 2)[0], ";")
					want[0] = "email"
				}
				for i, h := range header {
					line := regexp.MustCompile(`(?m)^  "` + regexp.QuoteMeta(h) + `" +-> ` + regexp.QuoteMeta(want[i]) + `$`)
					if !line.MatchString(errOut) {
						t.Errorf("%s: the report lacks %q -> %s:\n%s", tc.file, h, want[i], errOut)
					}
				}
			}

			c := e.control()
			ctx := context.Background()
			rome, _ := time.LoadLocation("Europe/Rome")
			for _, w := range []struct {
				email, first, last, company, title, metAt, notes string
				day                                              int
			}{
				{"zolc@example.pl", "Żaneta", "Żółć", "Łódzkie Zakłady Mięsne", "Kierownik działu", "Targi Kielce", "Zadzwonić\nw styczniu", 24},
				{"giulia@example.it", "Giulia", "Esposito", "Caffè Città", "Direttrice", "EIMA Bologna", "Listino", 23},
				{"giulia2@example.it", "Giulia", "Esposito", "Caffè Città", "Direttrice", "EIMA Bologna", "Listino", 23},
			} {
				v, err := c.ProspectView(ctx, w.email)
				if err != nil {
					t.Fatal(err)
				}
				p := v.Prospect
				if p.FirstName != w.first || p.LastName != w.last || p.Company != w.company || p.Title != w.title || p.MetAt != w.metAt || p.Notes != w.notes {
					t.Errorf("%s stored as %q %q %q %q %q %q", w.email, p.FirstName, p.LastName, p.Company, p.Title, p.MetAt, p.Notes)
				}
				if len(v.Enrollments) != 1 || !v.Enrollments[0].FirstContact.Equal(time.Date(2026, 11, w.day, 0, 0, 0, 0, rome)) {
					t.Errorf("%s: enrollments %+v, want the first contact on the %dth", w.email, v.Enrollments, w.day)
				}
			}
		})
	}
}

// A dry run counts exactly what the import then does: known prospects as
// updated, suppressed addresses and bad rows as rejected, a repeated
// address as updated.
func TestDryRunCountsAsTheImport(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.mustDrip("enroll", "--sequence", "trade-fair", "--email", "known@example.com", "--first-name", "Known")
			e.mustDrip("unsubscribe", "gone@example.com")
			list := e.write("list.csv", []byte("email;first_name\n"+
				"new@example.com;New\n"+
				"known@example.com;Known\n"+
				"gone@example.com;Gone\n"+
				"NEW@example.com;Again\n"+
				"bad-address;Bad\n"+
				"other@example.com;Other\n"))
			dry, dryErr, dryCode := e.drip("import", "--sequence", "trade-fair", "--dry-run", list)
			real, realErr, realCode := e.drip("import", "--sequence", "trade-fair", list)
			const want = "imported=2 updated=2 rejected=2"
			if strings.TrimSpace(dry) != want || strings.TrimSpace(real) != want || dryCode != realCode {
				t.Errorf("dry run %q (exit %d), import %q (exit %d), want both %q\n%s\n%s", dry, dryCode, real, realCode, want, dryErr, realErr)
			}
			if !strings.Contains(dryErr, "dry run: nothing was stored") || !strings.Contains(dryErr, `"first_name" -> first_name`) {
				t.Errorf("dry run stderr:\n%s", dryErr)
			}
		})
	}
}

// A byte order mark that contradicts --encoding is one clear error, and
// nothing is stored.
func TestImportBOMAgainstEncoding(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	path := e.write("bom.csv", []byte("\xef\xbb\xbfemail;Nome\nanna@example.it;Anna\n"))
	out, errOut, code := e.drip("import", "--sequence", "trade-fair", "--encoding", "windows-1250", path)
	if code != 1 || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 ||
		!strings.Contains(errOut, "starts with a UTF-8 byte order mark but its encoding was given as windows-1250") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := e.control().ProspectView(context.Background(), "anna@example.it"); err == nil {
		t.Error("the row was stored")
	}
}
