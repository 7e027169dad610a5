package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// messyList is a list as marketing ops hand it over: a BOM, CRLF line
// ends, header names in several spellings, a company with a comma, a
// header-injection attempt in a first name, a multi-line notes cell, a bad
// date, a mistyped address, an unknown zone, the same person twice, a short
// row, blank and empty rows, a suppressed address, a trailing delimiter.
var messyList = "\xef\xbb\xbf" +
	"E-mail,First Name,Last Name,Company,First Contact,TZ,Notes,Booth\r\n" + // 1
	"mario.rossi@example.it,Mario,Rossi,\"Rossi, Figli & C.\",2026-11-20,,,A12\r\n" + // 2
	"anna@example.com,\"Anna\r\nBcc: x@evil\",Bianchi,ACME,,,,B1\r\n" + // 3-4
	"luca@example.com,Luca,Verdi,ACME,31/02/2026,,,B2\r\n" + // 5
	"luca.verdi(at)example.com,Luca,Verdi,ACME,,,,B3\r\n" + // 6
	"piotr@example.pl,Piotr,Nowak,Nowak Sp. z o.o.,05/03/2026,Europe/Warsaw,,C3\r\n" + // 7
	"ghost@example.com,Ghost,,,,Mars/Olympus,,\r\n" + // 8
	"Mario.Rossi@Example.IT,Mario,Rossi,\"Rossi, Figli & C.\",2026-11-20,,\"second time, same person\",A12\r\n" + // 9
	"giulia@example.it,Giulia,Neri,Studio Neri,2026-11-20T09:15:00+01:00,,\"Met at the booth,\r\n" + // 10
	"asked for pricing\",D4\r\n" + // 11
	"short@example.com,Short,Row\r\n" + // 12
	"\r\n" + // 13
	",,,,,,,\r\n" + // 14
	"suppressed@example.com,Sam,Stop,,,,,E5\r\n" + // 15
	"carla@example.it,Carla,\"Bianchi \"\"la Rossa\"\"\",Bianchi SRL,,Europe/Rome,,F6,\r\n" + // 16
	"lone@example.com,\"Anna\rBcc: y@evil\",X,,,,," // 17, no final newline

func TestImportMessyList(t *testing.T) {
	sink := newMemSink("Suppressed@Example.com")
	sum, rejectFile, err := importString(t, messyList, testOptions(), sink)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got, want := sum.String(), "imported=4 updated=1 rejected=7"; got != want {
		t.Errorf("summary %q, want %q (rejects %v)", got, want, sum.Rejects)
	}
	wantRejects := []Reject{
		{3, "line break inside field first_name (the record spans lines 3-4)"},
		{5, `first_contact "31/02/2026" is not a valid date (want ` + DateFormats + `)`},
		{6, `invalid address "luca.verdi(at)example.com"`},
		{8, `unknown time zone "Mars/Olympus" (want an IANA name like Europe/Rome)`},
		{12, "too few fields: 3, the header has 8"},
		{15, "address is suppressed"},
		{17, "line break inside field first_name"},
	}
	if !slices.Equal(sum.Rejects, wantRejects) {
		t.Errorf("rejects:\n got %v\nwant %v", sum.Rejects, wantRejects)
	}

	mario := sink.get(t, "mario.rossi@example.it")
	if mario.Line != 9 || mario.Prospect.Notes != "second time, same person" {
		t.Errorf("the second Mario row did not update the first: %+v", mario)
	}
	if want := time.Date(2026, 11, 20, 0, 0, 0, 0, rome); !mario.FirstContact.Equal(want) || !mario.FirstContactGiven {
		t.Errorf("Mario's first contact %v, want %v (midnight in the sequence's zone)", mario.FirstContact, want)
	}
	if mario.Prospect.Company != "Rossi, Figli & C." || mario.Prospect.Fields["booth"] != "A12" {
		t.Errorf("Mario's company %q / booth %q", mario.Prospect.Company, mario.Prospect.Fields["booth"])
	}
	piotr := sink.get(t, "piotr@example.pl")
	if want := time.Date(2026, 3, 5, 0, 0, 0, 0, warsaw); !piotr.FirstContact.Equal(want) || piotr.Location.String() != "Europe/Warsaw" || piotr.Prospect.Timezone != "Europe/Warsaw" {
		t.Errorf("Piotr: first contact %v in %v, want %v", piotr.FirstContact, piotr.Location, want)
	}
	carla := sink.get(t, "carla@example.it")
	if carla.Prospect.LastName != `Bianchi "la Rossa"` || carla.Line != 16 || carla.FirstContactGiven || !carla.FirstContact.Equal(enrolledAt) {
		t.Errorf("Carla: %+v", carla)
	}
	// A multi-line notes cell loads, with its line end as LF.
	if giulia := sink.get(t, "giulia@example.it"); giulia.Prospect.Notes != "Met at the booth,\nasked for pricing" {
		t.Errorf("Giulia's notes %q", giulia.Prospect.Notes)
	}
	if _, stored := sink.prospects["suppressed@example.com"]; stored {
		t.Error("a suppressed address was stored")
	}

	// The reject file: a BOM, the header with reason in front, and every
	// rejected record with its fields exactly as read.
	if !strings.HasPrefix(rejectFile, "\xef\xbb\xbfreason,E-mail,First Name,") {
		t.Errorf("reject file starts %q", rejectFile[:min(40, len(rejectFile))])
	}
	recs := parseCSV(t, strings.TrimPrefix(rejectFile, "\xef\xbb\xbf"), ',')
	if len(recs) != 1+len(wantRejects) {
		t.Fatalf("reject file has %d records, want %d:\n%s", len(recs), 1+len(wantRejects), rejectFile)
	}
	if got := recs[5]; got[0] != "too few fields: 3, the header has 8" || !slices.Equal(got[1:], []string{"short@example.com", "Short", "Row"}) {
		t.Errorf("short row in the reject file: %q", got)
	}
	if got := recs[1][2]; got != "Anna\nBcc: x@evil" {
		t.Errorf("injection row in the reject file kept first name %q", got)
	}
}

// The reject file re-imports once the user has fixed its values, with the
// reason column left in place; unfixed, it rejects the same rows again and
// its own reject file has one reason column, not two.
func TestRejectFileRoundTrip(t *testing.T) {
	sink := newMemSink("suppressed@example.com")
	first, rejectFile, err := importString(t, messyList, testOptions(), sink)
	if err != nil {
		t.Fatal(err)
	}

	again, rejectFile2, err := importString(t, rejectFile, testOptions(), newMemSink("suppressed@example.com"))
	if err != nil {
		t.Fatalf("re-importing the reject file unfixed: %v", err)
	}
	if again.Rejected != first.Rejected || again.Imported != 0 {
		t.Errorf("unfixed reject file: %v, want rejected=%d and nothing imported", again, first.Rejected)
	}
	h1, _, _ := strings.Cut(rejectFile, "\n")
	h2, _, _ := strings.Cut(rejectFile2, "\n")
	if h1 != h2 {
		t.Errorf("the reject file of a reject file has header %q, want %q", h2, h1)
	}

	// What a user does in an editor.
	fixed := rejectFile
	for _, fix := range [][2]string{
		{"\"Anna\nBcc: x@evil\"", "Anna"},
		{"\"Anna\rBcc: y@evil\"", "Anna"},
		{",31/02/2026,", ",28/02/2026,"}, // the cell, not the reason quoting it
		{",luca.verdi(at)example.com,", ",luca.verdi@example.com,"},
		{",Mars/Olympus,", ",America/New_York,"},
		{"short@example.com,Short,Row", "short@example.com,Short,Row,,,,,"},
	} {
		if !strings.Contains(fixed, fix[0]) {
			t.Fatalf("the reject file does not hold %q:\n%s", fix[0], rejectFile)
		}
		fixed = strings.Replace(fixed, fix[0], fix[1], 1)
	}
	var kept []string // the suppressed row cannot be fixed: the user deletes it
	for _, line := range strings.SplitAfter(fixed, "\n") {
		if !strings.Contains(line, "suppressed@example.com") {
			kept = append(kept, line)
		}
	}
	fixed = strings.Join(kept, "")

	sum, rejects, err := importString(t, fixed, testOptions(), sink)
	if err != nil {
		t.Fatalf("re-importing the fixed reject file: %v", err)
	}
	if got, want := sum.String(), "imported=6 updated=0 rejected=0"; got != want {
		t.Errorf("fixed reject file: %q, want %q (rejects %v)", got, want, sum.Rejects)
	}
	anna := sink.get(t, "anna@example.com")
	if anna.Prospect.FirstName != "Anna" || anna.Prospect.Fields["booth"] != "B1" || len(anna.Prospect.Fields) != 1 {
		t.Errorf("Anna after the round trip: name %q fields %v (the reason column must not become a field)", anna.Prospect.FirstName, anna.Prospect.Fields)
	}
	if ghost := sink.get(t, "ghost@example.com"); ghost.Location.String() != "America/New_York" {
		t.Errorf("ghost's zone %v", ghost.Location)
	}
	if n := len(parseCSV(t, strings.TrimPrefix(rejects, "\xef\xbb\xbf"), ',')); n != 1 {
		t.Errorf("a clean import's reject file has %d records, want only the header", n)
	}
}

// An Italian Excel export: Windows-1252, ';', CRLF.
func TestImportWindows1252(t *testing.T) {
	list := "Email;First Name;Last Name;Company;Notes\r\n" +
		"niccolo.rossi@example.it;Niccol\xf2;Perch\xe9;Caff\xe8 della Citt\xe0;Vuole saperne di pi\xf9: 100 \x80\r\n" +
		"lucrezia.example.it;Lucr\xe8zia;Sar\xf9;;\r\n"
	opts := testOptions()
	opts.Encoding = "windows-1252"
	sink := newMemSink()
	sum, rejectFile, err := importString(t, list, opts, sink)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 1 || sum.Rejected != 1 {
		t.Fatalf("summary %v, want one imported and one rejected", sum)
	}
	p := sink.get(t, "niccolo.rossi@example.it").Prospect
	if p.FirstName != "Niccolò" || p.LastName != "Perché" || p.Company != "Caffè della Città" || p.Notes != "Vuole saperne di più: 100 €" {
		t.Errorf("decoded %q %q %q %q", p.FirstName, p.LastName, p.Company, p.Notes)
	}
	want := "\xef\xbb\xbfreason;Email;First Name;Last Name;Company;Notes\n" +
		"\"invalid address \"\"lucrezia.example.it\"\"\";lucrezia.example.it;Lucrèzia;Sarù;;\n"
	if rejectFile != want {
		t.Errorf("reject file\n%q\nwant (UTF-8, same delimiter)\n%q", rejectFile, want)
	}

	// Fixed and re-imported without --encoding: the BOM makes it read as
	// the UTF-8 it is. With the same command line (--encoding
	// windows-1252) the mark contradicts the flag: one clear error.
	fixed := strings.Replace(rejectFile, ";lucrezia.example.it;", ";lucrezia@example.it;", 1)
	if _, _, err := importString(t, fixed, opts, sink); err == nil || !strings.Contains(err.Error(), "starts with a UTF-8 byte order mark but its encoding was given as windows-1252") {
		t.Errorf("BOM against --encoding: %v", err)
	}
	opts.Encoding = ""
	sum, _, err = importString(t, fixed, opts, sink)
	if err != nil || sum.String() != "imported=1 updated=0 rejected=0" {
		t.Fatalf("re-import: %v %v", sum, err)
	}
	if got := sink.get(t, "lucrezia@example.it").Prospect; got.FirstName != "Lucrèzia" || got.LastName != "Sarù" {
		t.Errorf("re-imported name %q %q", got.FirstName, got.LastName)
	}
}

// The same export forced to UTF-8: the accented rows are rejected with a
// hint naming the encoding they look like, and the reject file keeps their
// bytes.
func TestImportWindows1252AsUTF8(t *testing.T) {
	list := "email;first_name\r\nniccolo@example.it;Niccol\xf2\r\nplain@example.it;Anna\r\n"
	opts := testOptions()
	opts.Encoding = "utf-8"
	sum, rejectFile, err := importString(t, list, opts, newMemSink())
	if err != nil {
		t.Fatal(err)
	}
	if sum.String() != "imported=1 updated=0 rejected=1" || !strings.Contains(sum.Rejects[0].Reason, "not valid UTF-8: it looks like windows-1252") || sum.Rejects[0].Line != 2 {
		t.Fatalf("%v %v", sum, sum.Rejects)
	}
	if !strings.Contains(rejectFile, ";niccolo@example.it;Niccol\xf2\n") {
		t.Errorf("reject file lost the original bytes: %q", rejectFile)
	}
}

func TestEncodings(t *testing.T) {
	utf16le := func(s string) string {
		b := []byte{0xFF, 0xFE}
		for _, r := range s { // BMP only
			b = append(b, byte(r), byte(r>>8))
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, encoding, input, want string
	}{
		{"utf-8", "", "email,first_name\nw@example.pl,Łódź\n", "Łódź"},
		{"utf-8 named", "UTF-8", "email,first_name\nw@example.pl,Łódź\n", "Łódź"},
		{"iso-8859-2", "iso-8859-2", "email;first_name\nw@example.pl;\xa3\xf3d\xbc\n", "Łódź"},
		{"windows-1250", "windows-1250", "email;first_name\nw@example.pl;\xa3\xf3d\x9f\n", "Łódź"},
		{"latin-1 read as windows-1252", "ISO-8859-1", "email;first_name\nw@example.it;Citt\xe0 \x80\n", "Città €"},
		{"BOM and the same flag", "utf-8", "\xef\xbb\xbfemail;first_name\nw@example.it;Città\n", "Città"},
		{"BOM, no flag", "", "\xef\xbb\xbfemail;first_name\nw@example.it;Città\n", "Città"},
		{"windows-1250 detected", "", "email;first_name\nw@example.pl;\xaf\xf3\xb3\xe6\n", "Żółć"},
		{"windows-1250 ą detected (8859-2 reads š)", "", "email;first_name\nw@example.pl;W\xb9sik\n", "Wąsik"},
		{"iso-8859-2 detected", "", "email;first_name\nw@example.pl;\xa3\xf3d\xbc \xb6wi\xeate\n", "Łódź święte"},
		{"windows-1252 detected", "", "email;first_name\nw@example.it;Niccol\xf2 Citt\xe0\n", "Niccolò Città"},
		{"Excel Unicode text (UTF-16LE, tabs)", "", utf16le("email\tfirst_name\r\nw@example.pl\tŁódź\r\n"), "Łódź"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Encoding = tc.encoding
			rows := readAll(t, tc.input, opts)
			if len(rows) != 1 || rows[0].Reason != "" || rows[0].Prospect.FirstName != tc.want {
				t.Fatalf("rows %+v, want first name %q", rows, tc.want)
			}
		})
	}
	opts := testOptions()
	opts.Encoding = "ebcdic"
	_, err := NewReader(strings.NewReader("email\n"), opts)
	if err == nil || !strings.Contains(err.Error(), `unknown encoding "ebcdic"`) {
		t.Errorf("unknown encoding: %v", err)
	}
}

func TestHeaderErrors(t *testing.T) {
	const mapHint = "; name one with a mapping such as 'Mail=email')"
	const dupHint = " (map one of them elsewhere, or to ignore)"
	const empty = "leads.csv: empty file, expected a header row with an email column"
	for _, tc := range []struct{ name, input, want string }{
		{"empty", "", empty},
		{"only a BOM", "\xef\xbb\xbf", empty},
		{"only blank lines", "\xef\xbb\xbf\r\n\r\n   \n\n", empty},
		{"only empty cells", ";;;\n;;;\n", empty},
		{"no email", "Name,Company\nMario,ACME\n", `leads.csv:1: no email column in the header (found "Name", "Company"` + mapHint},
		{"no email after blank lines", "\n\nName;Contact\n", `leads.csv:3: no email column in the header (found "Name", "Contact"` + mapHint},
		{"duplicate", "Email;Name;E-mail\n", `leads.csv:1: duplicate column "email": column 1 ("Email") and column 3 ("E-mail")` + dupHint},
		{"duplicate alias", "Email;Note;Uwagi\n", `leads.csv:1: duplicate column "notes": column 2 ("Note") and column 3 ("Uwagi")` + dupHint},
		{"duplicate custom", "email,Booth,booth\n", `leads.csv:1: duplicate column "booth": column 2 ("Booth") and column 3 ("booth")` + dupHint},
		{"header longer than the buffer", "email," + strings.Repeat("x", 70<<10) + "\n", "leads.csv: the header row is longer than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newMemSink()
			sum, _, err := importString(t, tc.input, testOptions(), sink)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if sum.String() != "imported=0 updated=0 rejected=0" || len(sink.batches) != 0 {
				t.Errorf("something was loaded: %v", sum)
			}
		})
	}
}

func TestColumns(t *testing.T) {
	r, err := NewReader(strings.NewReader(
		" Email Address ;FIRST NAME;surname;Company_Name;Organization Unit;tz;Met;first-contact;reason;;Sender;Language\n"),
		testOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Columns() {
		switch {
		case c.Ignored:
			got = append(got, "-"+c.Key)
		case c.Custom:
			got = append(got, "+"+c.Key)
		default:
			got = append(got, c.Key)
		}
	}
	want := []string{"email", "first_name", "last_name", "company", "+organization_unit", "timezone", "met_at", "first_contact", "-reason", "-", "sender", "language"}
	if !slices.Equal(got, want) {
		t.Errorf("columns\n got %q\nwant %q", got, want)
	}
	if r.Comma() != ';' {
		t.Errorf("delimiter %q", r.Comma())
	}
}

func TestDetectDelimiter(t *testing.T) {
	for _, tc := range []struct {
		head    string
		want    rune
		sepLine bool
	}{
		{"email,first_name,company\n", ',', false},
		{"email;first_name;company\r\n", ';', false},
		{"email\tfirst_name\n", '\t', false},
		{"email\n", ',', false},
		{"email", ',', false},
		{`"Rossi; Mario",email,company` + "\n", ',', false},
		{`"Name, Surname";email;"Company, Inc";x` + "\n", ';', false},
		{"\"multi\nline\";email;x\n", ';', false},
		{"\n\nemail;name\n", ';', false},
		{"sep=;\r\nemail,name\n", ';', true},
		{"SEP=\t\nemail,name\n", '\t', true},
		{"email;name\na,b,c,d,e,f\n", ';', false}, // only the header row counts
	} {
		got, sep, err := detectDelimiter([]byte(tc.head), true, "f")
		if err != nil || got != tc.want || sep != tc.sepLine {
			t.Errorf("%q: %q %v %v, want %q %v", tc.head, got, sep, err, tc.want, tc.sepLine)
		}
	}
}

func TestExcelSepLine(t *testing.T) {
	rows := readAll(t, "sep=;\r\nemail;company\r\na@example.com;Rossi, Figli\r\n", testOptions())
	if len(rows) != 1 || rows[0].Line != 3 || rows[0].Prospect.Company != "Rossi, Figli" {
		t.Errorf("rows %+v", rows)
	}
}

func TestFirstContactAndTimezone(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, tc := range []struct {
		firstContact, tz string
		want             time.Time // zero: rejected
		reason           string
	}{
		{"", "", enrolledAt, ""},
		{"2026-11-20", "", utc("2026-11-19T23:00:00Z"), ""},
		{"20/11/2026", "", utc("2026-11-19T23:00:00Z"), ""},
		{"5/3/2026", "Europe/Warsaw", utc("2026-03-04T23:00:00Z"), ""},
		{"2026-3-29", "", utc("2026-03-28T23:00:00Z"), ""}, // the DST day: midnight is still +01:00
		{"2026-11-20", "America/New_York", utc("2026-11-20T05:00:00Z"), ""},
		{"2026-11-20T09:15:00+01:00", "America/New_York", utc("2026-11-20T08:15:00Z"), ""},
		{"2026-11-20T09:15:00Z", "", utc("2026-11-20T09:15:00Z"), ""},
		{"29/02/2028", "", utc("2028-02-28T23:00:00Z"), ""},
		{"31/02/2026", "", time.Time{}, "first_contact"},
		{"29/02/2026", "", time.Time{}, "first_contact"},
		{"2026-02-30", "", time.Time{}, "first_contact"},
		{"11/20/2026", "", time.Time{}, "first_contact"}, // a US date: month 20
		{"20.11.2026", "", utc("2026-11-19T23:00:00Z"), ""},
		{"24/11/2026 10:30", "", utc("2026-11-24T09:30:00Z"), ""},
		{"24.11.2026 10:30", "Europe/Warsaw", utc("2026-11-24T09:30:00Z"), ""},
		{"2026-11-20 09:15", "", utc("2026-11-20T08:15:00Z"), ""},
		{"2026-11-20T09:15:00", "", utc("2026-11-20T08:15:00Z"), ""}, // no offset: the prospect's wall time
		{"46350", "", utc("2026-11-23T23:00:00Z"), ""},               // Excel's serial of 24 Nov 2026
		{"46350.4375", "", utc("2026-11-24T09:30:00Z"), ""},          // … at 10:30
		{"46350,4375", "", utc("2026-11-24T09:30:00Z"), ""},          // … with a decimal comma
		{"31/11/2026", "", time.Time{}, "first_contact"},
		{"31.11.2026", "", time.Time{}, "first_contact"},
		{"31/11/2026 10:30", "", time.Time{}, "first_contact"},
		{"24/11/2026 25:00", "", time.Time{}, "first_contact"},
		{"20/11/26", "", time.Time{}, "first_contact"},
		{"4635", "", time.Time{}, "first_contact"},
		{"463500", "", time.Time{}, "first_contact"},
		{"46350.", "", time.Time{}, "first_contact"},
		{"tomorrow", "", time.Time{}, "first_contact"},
		{"", "Europe/Roma", time.Time{}, "unknown time zone"},
		{"", "Local", time.Time{}, "unknown time zone"},
		{"", "../../etc/passwd", time.Time{}, "unknown time zone"},
		{"", "CET+1", time.Time{}, "unknown time zone"},
	} {
		rows := readAll(t, "email;first_contact;timezone\na@example.com;"+tc.firstContact+";"+tc.tz+"\n", testOptions())
		if len(rows) != 1 {
			t.Fatalf("%d rows", len(rows))
		}
		row := rows[0]
		if tc.reason != "" {
			if !strings.HasPrefix(row.Reason, tc.reason) {
				t.Errorf("%q in %q: reason %q, want a %s rejection", tc.firstContact, tc.tz, row.Reason, tc.reason)
			}
			continue
		}
		if row.Reason != "" || !row.FirstContact.Equal(tc.want) || row.FirstContactGiven != (tc.firstContact != "") {
			t.Errorf("%q in %q: %v (given %v) %q, want %v", tc.firstContact, tc.tz, row.FirstContact.UTC(), row.FirstContactGiven, row.Reason, tc.want)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		cell, want string // want "" = rejected
	}{
		{"a@example.it", "a@example.it"},
		{"Mario.Rossi@Example.IT", "Mario.Rossi@Example.IT"},
		{"  padded@example.com  ", "padded@example.com"},
		{"o'brien+fair@example.ie", "o'brien+fair@example.ie"},
		{"niccolò@example.it", "niccolò@example.it"},
		{"", ""},
		{"plainaddress", ""},
		{"a@localhost", ""},
		{"@example.com", ""},
		{"a@b..com", ""},
		{"a@example.com.", ""},
		{"a b@example.com", ""},
		{"Mario <m@example.com>", ""},
		{"<m@example.com>", ""},
		{"m@example.com (Mario)", ""},
		{`"m"@example.com`, ""},
		{"a@[192.0.2.1]", ""},
		{"a@example.com; b@example.com", ""},
	} {
		rows := readAll(t, "email,x\n\""+tc.cell+"\",1\n", testOptions())
		if len(rows) != 1 {
			t.Fatalf("%q: %d rows", tc.cell, len(rows))
		}
		got := rows[0]
		if tc.want == "" {
			if got.Reason == "" {
				t.Errorf("%q accepted as %q", tc.cell, got.Prospect.Email)
			}
			continue
		}
		if got.Reason != "" || got.Prospect.Email != tc.want {
			t.Errorf("%q: %q %q, want %q", tc.cell, got.Prospect.Email, got.Reason, tc.want)
		}
	}
}

func TestCellRules(t *testing.T) {
	long := strings.Repeat("è", maxFieldChars) // 2000 bytes, 1000 characters
	for _, tc := range []struct {
		name, row, reason string
	}{
		{"1000 characters", "a@example.com,\"" + long + "\",x", ""},
		{"1001 characters", "a@example.com,\"" + long + "é\",x", "field notes is longer than 1000 characters"},
		{"NUL", "a@example.com,\"a\x00b\",x", "NUL character in field notes"},
		{"too many fields", "a@example.com,n,x,oops", "too many fields: 4, the header has 3"},
		{"empty extra fields", "a@example.com,n,x,, ", ""},
		{"line break in a custom field", "a@example.com,n,\"x\ny\"", ""},
		{"line break in notes", "a@example.com,\"n\r\nm\",x", ""},
		{"bare quotes", `a@example.com,Mario "Bubi" Rossi,x`, ""},
	} {
		rows := readAll(t, "email,notes,booth\n"+tc.row+"\n", testOptions())
		if len(rows) != 1 || rows[0].Reason != tc.reason || rows[0].Line != 2 {
			t.Errorf("%s: %d rows, %+v", tc.name, len(rows), rows)
		}
	}
}

func TestSenders(t *testing.T) {
	opts := testOptions()
	opts.DefaultSender = "maria"
	opts.Senders = []string{"maria", "piotr"}
	rows := readAll(t, "email,sender\na@example.com,\nb@example.com,piotr\nc@example.com,mario\n", opts)
	if rows[0].Sender != "maria" || rows[1].Sender != "piotr" || rows[2].Reason != `unknown sender "mario"` {
		t.Errorf("rows %+v", rows)
	}
	ir := rows[1].ImportRow("trade-fair")
	if ir.Sequence != "trade-fair" || ir.Sender != "piotr" || ir.Line != 3 || ir.Prospect.Email != "b@example.com" || !ir.FirstContact.Equal(enrolledAt) {
		t.Errorf("ImportRow %+v", ir)
	}
}

// A dry run calls nothing, yet counts an address seen earlier in the file
// (in any case) as updated, and still writes the reject file.
func TestDryRun(t *testing.T) {
	opts := testOptions()
	opts.DryRun = true
	opts.BatchSize = 2 // duplicates across batches
	sum, rejectFile, err := importString(t, messyList, opts, refusingSink{t})
	if err != nil {
		t.Fatal(err)
	}
	// The suppressed address is not known without the store: imported.
	if got, want := sum.String(), "imported=5 updated=1 rejected=6"; got != want {
		t.Errorf("dry run %q, want %q", got, want)
	}
	if n := strings.Count(rejectFile, "\n"); n < 8 {
		t.Errorf("dry run reject file has %d lines:\n%s", n, rejectFile)
	}
}

func TestBatchesAndSinkFailure(t *testing.T) {
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 25 {
		b.WriteString("p" + string(rune('a'+i)) + "@example.com\n")
	}
	opts := testOptions()
	opts.BatchSize = 10
	sink := newMemSink()
	sum, _, err := importString(t, b.String(), opts, sink)
	if err != nil || sum.Imported != 25 || !slices.Equal(sink.batches, []int{10, 10, 5}) {
		t.Fatalf("%v %v batches %v", sum, err, sink.batches)
	}

	sink = newMemSink()
	sink.failAt = 2
	sum, _, err = importString(t, b.String(), opts, sink)
	if err == nil || err.Error() != "importing the rows of lines 12-21: database is locked" {
		t.Errorf("error %v", err)
	}
	if sum.Imported != 10 {
		t.Errorf("summary after a failed batch %v: only the first batch was applied", sum)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sink := &discardSink{}
	sink.onBatch = cancel
	_, err := Import(ctx, newGenReader(10_000), Options{Now: enrolledAt, BatchSize: 100}, sink)
	if !errors.Is(err, context.Canceled) || sink.rows != 100 {
		t.Errorf("err %v after %d rows", err, sink.rows)
	}
}

// A quote left open swallows the rest of the file into one record; past
// 4 MiB the import stops with the line where it began, instead of reading
// the whole file into memory. Rows before it are applied.
func TestRunawayQuote(t *testing.T) {
	input := io.MultiReader(
		strings.NewReader("email,notes\nfirst@example.com,ok\nsecond@example.com,\"open quote\n"),
		newGenReader(200_000), // ≈ 20 MB more, never closing the quote
	)
	sink := newMemSink()
	sum, err := Import(context.Background(), input, testOptions(), sink)
	if err == nil || !strings.HasPrefix(err.Error(), "leads.csv:3: the record starting at line 3 is longer than 4 MiB") {
		t.Fatalf("error %v", err)
	}
	if sum.Imported != 1 {
		t.Errorf("summary %v, want the first row imported", sum)
	}
}

// A bare quote inside unquoted cells, across a file far larger than the
// record limit, is not mistaken for an open quote.
func TestBareQuotesDoNotTripTheLimit(t *testing.T) {
	g := newGenReader(60_000) // ≈ 6 MB
	input := io.MultiReader(strings.NewReader(genHeader+"a@example.com;5\" disk;x;y;;;z\r\n"), skipHeader(g))
	sum, err := Import(context.Background(), input, Options{Now: enrolledAt}, &discardSink{})
	if err != nil || sum.Imported != 60_001 {
		t.Fatalf("%v %v", sum, err)
	}
}

func skipHeader(g *genReader) io.Reader {
	g.off = len(g.buf)
	return g
}

func TestProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var calls []time.Time
	var lastRows int
	var lastBytes int64
	opts := Options{
		Now:       enrolledAt,
		BatchSize: 100,
		Clock:     func() time.Time { now = now.Add(10 * time.Millisecond); return now },
		Progress: func(rows int, bytes int64) {
			calls = append(calls, now)
			lastRows, lastBytes = rows, bytes
		},
	}
	var input bytes.Buffer
	if _, err := io.Copy(&input, newGenReader(20_000)); err != nil {
		t.Fatal(err)
	}
	size := int64(input.Len())
	if _, err := Import(context.Background(), &input, opts, &discardSink{}); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 5 {
		t.Fatalf("%d progress calls", len(calls))
	}
	for i := 1; i < len(calls)-1; i++ {
		if d := calls[i].Sub(calls[i-1]); d < progressEvery {
			t.Fatalf("progress calls %v apart", d)
		}
	}
	if lastRows != 20_000 || lastBytes != size {
		t.Errorf("last progress %d rows %d bytes, want 20000 and %d", lastRows, lastBytes, size)
	}
}

func parseCSV(t *testing.T, s string, comma rune) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(s))
	r.Comma = comma
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return recs
}
