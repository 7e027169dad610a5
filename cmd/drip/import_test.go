package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// cliEnv is a configuration in a temp dir with its own store, and the
// drip command line run in-process against it.
type cliEnv struct {
	t      *testing.T
	dir    string
	config string
	dbURL  string
}

// newCLIEnv writes a configuration with two sequences: trade-fair (Rome,
// no window) and booth, which declares the custom field booth.
func newCLIEnv(t *testing.T, dbURL string) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"sequences", "templates/trade-fair", "templates/booth"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"drip.yaml": fmt.Sprintf(`database_url: %q
http: { listen: "127.0.0.1:0", api_token: "t0ken", public_url: "https://drip.example.com" }
sequences_dir: %q
templates_dir: %q
senders:
  - name: maria
    from: "Maria Rossi <maria@example.com>"
    smtp: { host: 127.0.0.1, port: 2525, tls: none }
  - name: piotr
    from: "Piotr Nowak <piotr@example.com>"
    smtp: { host: 127.0.0.1, port: 2525, tls: none }
`, dbURL, filepath.Join(dir, "sequences"), filepath.Join(dir, "templates")),
		"sequences/trade-fair.yaml": "name: trade-fair\nsteps: 60\ninterval: 10d\nfirst_step_after: 10d\ntimezone: Europe/Rome\n",
		"sequences/booth.yaml":      "name: booth\nsteps: 3\ninterval: 7d\nfirst_step_after: 1d\ntimezone: Europe/Rome\nfields: [booth]\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &cliEnv{t: t, dir: dir, config: filepath.Join(dir, "drip.yaml"), dbURL: dbURL}
}

// drip runs a command line and returns its output and exit status.
func (e *cliEnv) drip(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{args[0], "-c", e.config}, args[1:]...)
	code = run(full, &out, &errOut)
	return out.String(), errOut.String(), code
}

// mustDrip runs a command line that must succeed.
func (e *cliEnv) mustDrip(args ...string) string {
	e.t.Helper()
	out, errOut, code := e.drip(args...)
	if code != 0 {
		e.t.Fatalf("drip %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// write puts a file in the env's dir and returns its path.
func (e *cliEnv) write(name string, data []byte) string {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// control opens the env's store beside the commands, to look at what they did.
func (e *cliEnv) control() *sequencer.Control {
	e.t.Helper()
	cfg, err := configs.Load(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	st := testrig.Open(e.t, e.dbURL)
	return &sequencer.Control{Store: st, Config: cfg, Clock: sequencer.SystemClock{}}
}

// messyList is a list as marketing ops export it: UTF-8 with a BOM, ';'
// separated, Italian column names, and one of each kind of bad row. The
// comments say each row's line and fate.
const messyList = "\uFEFFEmail;Nome;Cognome;Azienda;first_contact;timezone;notes;booth\r\n" +
	"mario.rossi@example.com;Mario;Rossi;\"Rossi; Figli\";2026-11-20;Europe/Rome;;B1\r\n" + // 2 imported
	"anna@example.com;Anna;Bianchi;\"Acme\r\nSpA\";20/11/2026;;call back;B2\r\n" + // 3-4 rejected: line break in the company
	"not-an-address;Nemo;Nessuno;X;;;;B3\r\n" + // 5 rejected: invalid address
	"bad.date@example.com;Bea;Data;X;2026-13-45;;;B4\r\n" + // 6 rejected: bad date
	"tz@example.com;Tim;Zone;X;;Mars/Olympus;;B5\r\n" + // 7 rejected: unknown zone
	"MARIO.ROSSI@Example.com;Mario;Rossi;;;;;B1\r\n" + // 8 updated: duplicate of line 2
	"eve@example.com;\"Eve\rBcc: victim@example.org\";X;X;;;;B6\r\n" + // 9 rejected: CR inside a field
	"gone@example.com;Gone;Away;X;;;;B7\r\n" + // 10 rejected: suppressed
	"zoe@example.com;\"Zoë \"\"Zo\"\"\";Kowalska;\"ACME, Inc.\";;Europe/Warsaw;;B8\r\n" + // 11 imported
	";;;;;;;\r\n" // an Excel empty row: skipped

func TestImportMessyList(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			e := newCLIEnv(t, sk.URL(t))
			e.mustDrip("unsubscribe", "gone@example.com")
			list := e.write("list.csv", []byte(messyList))
			rejectFile := filepath.Join(e.dir, "rejects.csv")

			out, errOut, code := e.drip("import", "--sequence", "booth", "--reject-file", rejectFile, list)
			if code != 1 {
				t.Fatalf("exit %d with rejected rows, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if got := strings.TrimSpace(out); got != "imported=2 updated=1 rejected=6" {
				t.Errorf("summary %q, want imported=2 updated=1 rejected=6", got)
			}
			for _, want := range []string{
				list + ":3: line break inside field company (the record spans lines 3-4)",
				list + `:5: invalid address "not-an-address"`,
				list + `:6: first_contact "2026-13-45" is not a valid date`,
				list + `:7: unknown time zone "Mars/Olympus"`,
				list + ":9: line break inside field first_name",
				list + ":10: address is suppressed",
			} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}

			c := e.control()
			ctx := context.Background()
			mario, err := c.ProspectView(ctx, "mario.rossi@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if p := mario.Prospect; p.FirstName != "Mario" || p.LastName != "Rossi" || p.Company != "Rossi; Figli" || p.Fields["booth"] != "B1" {
				t.Errorf("mario stored as %+v", p)
			}
			if n := len(mario.Enrollments); n != 1 {
				t.Errorf("mario has %d enrollments after a duplicate row, want 1", n)
			}
			if fc := mario.Enrollments[0].FirstContact.Format("2006-01-02T15:04:05Z07:00"); fc != "2026-11-20T00:00:00+01:00" {
				t.Errorf("first contact %s, want 00:00 in Rome", fc)
			}
			zoe, err := c.ProspectView(ctx, "zoe@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if p := zoe.Prospect; p.FirstName != `Zoë "Zo"` || p.Company != "ACME, Inc." || p.Timezone != "Europe/Warsaw" {
				t.Errorf("zoe stored as %+v", p)
			}
			for _, absent := range []string{"anna@example.com", "bad.date@example.com", "tz@example.com", "eve@example.com", "gone@example.com"} {
				if _, err := c.ProspectView(ctx, absent); err == nil {
					t.Errorf("rejected row %s was stored", absent)
				}
			}

			// The reject file holds every rejected row unchanged, with its
			// reason in front; fixed (and without the suppressed address,
			// which no fix makes importable) it imports cleanly.
			records := readCSV(t, rejectFile)
			if got := strings.Join(records[0], ";"); got != "reason;Email;Nome;Cognome;Azienda;first_contact;timezone;notes;booth" {
				t.Fatalf("reject file header %q", got)
			}
			if len(records) != 7 {
				t.Fatalf("reject file has %d rows, want 6 and the header", len(records)-1)
			}
			if records[1][4] != "Acme\r\nSpA" && records[1][4] != "Acme\nSpA" {
				t.Errorf("the rejected company cell was changed: %q", records[1][4])
			}
			var fixed [][]string
			fixed = append(fixed, records[0])
			for _, r := range records[1:] {
				r = append([]string(nil), r...)
				switch r[1] {
				case "anna@example.com":
					r[4] = "Acme SpA"
				case "not-an-address":
					r[1] = "nemo@example.com"
				case "bad.date@example.com":
					r[5] = "2026-11-13"
				case "tz@example.com":
					r[6] = "Europe/Warsaw"
				case "eve@example.com":
					r[2] = "Eve"
				case "gone@example.com":
					continue
				default:
					t.Fatalf("unexpected reject %v", r)
				}
				fixed = append(fixed, r)
			}
			fixedFile := filepath.Join(e.dir, "fixed.csv")
			writeCSV(t, fixedFile, ';', fixed)
			out, errOut, code = e.drip("import", "--sequence", "booth", fixedFile)
			if code != 0 || strings.TrimSpace(out) != "imported=5 updated=0 rejected=0" {
				t.Fatalf("re-import of the fixed rejects: exit %d, %q\n%s", code, out, errOut)
			}

			// The same list again updates and never duplicates.
			out, _, _ = e.drip("import", "--sequence", "booth", list)
			if got := strings.TrimSpace(out); got != "imported=0 updated=3 rejected=6" {
				t.Errorf("second import: %q, want imported=0 updated=3 rejected=6", got)
			}
			st, err := c.Stats(ctx, "booth")
			if err != nil {
				t.Fatal(err)
			}
			if n := st.Enrollments[store.StateActive]; n != 7 {
				t.Errorf("%d active enrollments after re-importing, want 7 (2 + 5 fixed)", n)
			}
		})
	}
}

func TestImportEncodingsAndBadFiles(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	utf8List := "email,first_name,last_name,company\nlucia@example.com,Lucía,Ferrà,Società Àlfa\n"
	cp1252, err := charmap.Windows1252.NewEncoder().String(utf8List)
	if err != nil {
		t.Fatal(err)
	}
	excel := e.write("excel.csv", []byte(cp1252))

	// Read as UTF-8, the accents are not valid UTF-8: the row is refused
	// with a hint naming the encoding, rather than stored as mojibake.
	_, errOut, code := e.drip("import", "--sequence", "trade-fair", "--encoding", "utf-8", excel)
	if code != 1 || !strings.Contains(errOut, "it looks like windows-1252: import it with --encoding windows-1252") {
		t.Errorf("windows-1252 file read as UTF-8: exit %d, stderr %q", code, errOut)
	}
	out := e.mustDrip("import", "--sequence", "trade-fair", "--encoding", "windows-1252", excel)
	if strings.TrimSpace(out) != "imported=1 updated=0 rejected=0" {
		t.Errorf("summary %q", out)
	}
	v, err := e.control().ProspectView(context.Background(), "lucia@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p := v.Prospect; p.FirstName != "Lucía" || p.LastName != "Ferrà" || p.Company != "Società Àlfa" {
		t.Errorf("accents not intact: %+v", p)
	}

	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty file", "", "empty file"},
		{"no email column", "name;company\nMario;Acme\n", "no email column"},
	} {
		path := e.write(strings.ReplaceAll(tc.name, " ", "-")+".csv", []byte(tc.body))
		out, errOut, code := e.drip("import", "--sequence", "trade-fair", path)
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q", tc.name, code, out, errOut, tc.want)
		}
	}

	// Flags and arguments are checked before anything is read.
	for _, args := range [][]string{
		{"import", excel},
		{"import", "--sequence", "nope", excel},
		{"import", "--sequence", "trade-fair", "--sender", "nobody", excel},
		{"import", "--sequence", "trade-fair", "--encoding", "ebcdic", excel},
	} {
		if _, errOut, code := e.drip(args...); code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
			t.Errorf("drip %v: exit %d, stderr %q; want a short error", args, code, errOut)
		}
	}
}

func TestImportDeclaredFieldsDryRunAndStdin(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	list := e.write("list.csv", []byte("email,first_name,booth,sender\na@example.com,A,B1,\nb@example.com,B,,\nc@example.com,C,C3,piotr\nc@example.com,C,C3,piotr\n"))

	out, errOut, code := e.drip("import", "--dry-run", "--sequence", "booth", list)
	if code != 1 || strings.TrimSpace(out) != "imported=2 updated=1 rejected=1" {
		t.Errorf("dry run: exit %d, %q", code, out)
	}
	if !strings.Contains(errOut, `:3: missing custom field "booth"`) || !strings.Contains(errOut, "nothing was stored") {
		t.Errorf("dry run stderr: %q", errOut)
	}
	c := e.control()
	ctx := context.Background()
	if _, err := c.ProspectView(ctx, "a@example.com"); err == nil {
		t.Error("a dry run stored a prospect")
	}

	out, _, code = e.drip("import", "--sequence", "booth", list)
	if code != 1 || strings.TrimSpace(out) != "imported=2 updated=1 rejected=1" {
		t.Errorf("import: exit %d, %q", code, out)
	}
	v, err := c.ProspectView(ctx, "c@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Enrollments) != 1 || v.Enrollments[0].Sender != "piotr" {
		t.Errorf("c's enrollments %+v, want one with sender piotr", v.Enrollments)
	}

	// A prospect that already has the field may come without it.
	stdin := e.write("stdin.csv", []byte("email\nb@example.com\na@example.com\n"))
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	out, errOut, code = e.drip("import", "--sequence", "booth", "-")
	if code != 1 || strings.TrimSpace(out) != "imported=0 updated=1 rejected=1" || !strings.Contains(errOut, "stdin:2: missing custom field") {
		t.Errorf("import from stdin: exit %d, %q, %q", code, out, errOut)
	}
}

func TestImportCapsRejectsShown(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 50 {
		fmt.Fprintf(&b, "bad-%d\n", i)
	}
	list := e.write("bad.csv", []byte(b.String()))
	_, errOut, code := e.drip("import", "--sequence", "trade-fair", list)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if n := len(regexp.MustCompile(`bad\.csv:\d+: invalid address`).FindAllString(errOut, -1)); n != maxRejectsShown {
		t.Errorf("%d rejects printed, want %d", n, maxRejectsShown)
	}
	if !strings.Contains(errOut, "... and 30 more rejected rows (use --reject-file to get them all)") {
		t.Errorf("stderr does not say how many more: %q", errOut)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\uFEFF")) {
		t.Errorf("%s has no UTF-8 byte order mark", path)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.Comma = ';'
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

func writeCSV(t *testing.T, path string, comma rune, records [][]string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = comma
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte("\uFEFF"), b.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := &progressLine{w: &b, size: 1000, start: time.Now()}
	p.show(10, 100)
	p.clear()
	if b.Len() != 0 {
		t.Errorf("a short import drew progress: %q", b.String())
	}
	p.start = time.Now().Add(-2 * time.Second)
	p.show(5000, 500)
	if got := b.String(); !strings.HasPrefix(got, "\rimport: 5000 rows read, 50%, ") || !strings.HasSuffix(got, " rows/s\033[K") {
		t.Errorf("progress line %q", got)
	}
	b.Reset()
	p.clear()
	if b.String() != "\r\033[K" {
		t.Errorf("clear wrote %q", b.String())
	}
}

// A Polish Excel export: windows-1250, Polish column names.
func TestImportPolishExport(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	list, err := charmap.Windows1250.NewEncoder().String("E-mail;Imię;Nazwisko;Firma;Telefon\njan@example.pl;Jędrzej;Łukasiewicz;Zakłady Żółć sp. z o.o.;+48 600 000 000\n")
	if err != nil {
		t.Fatal(err)
	}
	path := e.write("lista.csv", []byte(list))
	if out := e.mustDrip("import", "--sequence", "trade-fair", "--encoding", "windows-1250", path); strings.TrimSpace(out) != "imported=1 updated=0 rejected=0" {
		t.Errorf("summary %q", out)
	}
	v, err := e.control().ProspectView(context.Background(), "jan@example.pl")
	if err != nil {
		t.Fatal(err)
	}
	if p := v.Prospect; p.FirstName != "Jędrzej" || p.LastName != "Łukasiewicz" || p.Company != "Zakłady Żółć sp. z o.o." || p.Phone != "+48 600 000 000" || len(p.Fields) != 0 {
		t.Errorf("stored %+v", p)
	}
}

// --late-start first: a contact 95 days back starts at step 1 now; the
// sequence's default (latest) starts it at step 9 (R3). A bad value is a
// usage error before anything is read.
func TestImportLateStartFlag(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	late := time.Now().AddDate(0, 0, -95).Format("2006-01-02")
	first := e.write("first.csv", []byte("email,first_contact\nfirst@example.com,"+late+"\n"))
	latest := e.write("latest.csv", []byte("email,first_contact\nlatest@example.com,"+late+"\n"))
	e.mustDrip("import", "--sequence", "trade-fair", "--late-start", "first", first)
	e.mustDrip("import", "--sequence", "trade-fair", latest)
	c := e.control()
	for email, want := range map[string]int{"first@example.com": 1, "latest@example.com": 9} {
		v, err := c.ProspectView(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if en := v.Enrollments[0]; en.NextStep == nil || *en.NextStep != want {
			t.Errorf("%s: next step %v, want %d", email, en.NextStep, want)
		}
	}
	_, errOut, code := e.drip("import", "--sequence", "trade-fair", "--late-start", "soon", first)
	if code != 2 || !strings.Contains(errOut, `--late-start: late_start "soon": want latest or first`) {
		t.Errorf("bad --late-start: exit %d, %q", code, errOut)
	}
}
