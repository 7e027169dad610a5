package templates

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
)

func rome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func goodSequence(t *testing.T) *configs.Sequence {
	return &configs.Sequence{File: "testdata/good.yaml", Name: "good", Steps: 3, Templates: "good",
		Fields: []string{"booth"}, Location: rome(t)}
}

func TestRenderGoodSet(t *testing.T) {
	seq := goodSequence(t)
	set, err := LoadSet(filepath.Join("testdata", "good"), seq)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(seq)
	d.Prospect.Fields["booth"] = "B12"

	r, err := set.Render(1, d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Anna, nice to meet you at EICMA 2026" {
		t.Errorf("subject = %q", r.Subject)
	}
	if !strings.Contains(r.Text, "we met on venerdì 20 novembre at booth B12.\nStep 1 of 3.\n") {
		t.Errorf("body:\n%s", r.Text)
	}
	if r.HTML != "" {
		t.Errorf("step 1 has no NN.html, got HTML %q", r.HTML)
	}

	d.Prospect.Company = `Rossi & <Figli>`
	r, err = set.Render(2, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Hello Rossi & <Figli>,") {
		t.Errorf("text body escaped what it should not:\n%s", r.Text)
	}
	if !strings.Contains(r.HTML, "<p>Hello Rossi &amp; &lt;Figli&gt;,</p>") {
		t.Errorf("HTML body not escaped:\n%s", r.HTML)
	}

	d.Prospect.LastName = "Bianchi"
	r, err = set.Render(3, d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "Goodbye BIANCHI.\nanna.bianchi@example.com\n" {
		t.Errorf("step 3 = %q", r.Text)
	}
}

func TestRenderedSubjectIsOneLine(t *testing.T) {
	seq := goodSequence(t)
	set, err := LoadSet(filepath.Join("testdata", "good"), seq)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(seq)
	d.Prospect.FirstName = "Anna\r\nBcc: victim@example.com\n\tX-Evil: 1\u2028"
	r, err := set.Render(1, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n\t\u2028") {
		t.Fatalf("subject carries a line break: %q", r.Subject)
	}
	if r.Subject != "Anna Bcc: victim@example.com X-Evil: 1 , nice to meet you at EICMA 2026" {
		t.Errorf("subject = %q", r.Subject)
	}
}

func TestRenderMissingFieldValueNamesFileAndLine(t *testing.T) {
	seq := goodSequence(t)
	set, err := LoadSet(filepath.Join("testdata", "good"), seq)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(seq)
	delete(d.Prospect.Fields, "booth")
	_, err = set.Render(1, d)
	var te *Error
	if !errors.As(err, &te) || te.File != filepath.Join("testdata", "good", "01.txt") || te.Line != 5 ||
		!strings.Contains(te.Msg, "missing key booth") {
		t.Fatalf("Render = %v, want a missing key booth at testdata/good/01.txt:5", err)
	}
	if _, err := set.Render(4, d); err == nil {
		t.Error("Render(4) of a 3-step set succeeded")
	}
}

func TestCheckReportsEveryProblemWithFileAndLine(t *testing.T) {
	cfg := &configs.Config{TemplatesDir: "testdata", HTTP: configs.HTTP{PublicURL: "https://drip.test/"},
		Senders: []configs.Sender{{Name: "ugo", From: "Ugo Neri <ugo@example.org>"}},
		Sequences: map[string]*configs.Sequence{
			"broken": {File: "configs/sequences/broken.yaml", Name: "broken", Steps: 6, Templates: "broken", Location: time.UTC},
			"good":   goodSequence(t),
		}}
	problems, warnings := Check(cfg)
	want := []string{
		"testdata/broken/01.txt:4: unclosed action",
		"testdata/broken/02.txt:5: .Prospect.Fields.booth: missing key booth; declare it in the sequence's fields: (configs/sequences/broken.yaml)",
		"testdata/broken/03.txt:3: .Prospect.FirstNam: unknown field FirstNam (did you mean FirstName?)",
		`testdata/broken/03.txt:4: dateIn: unknown language "itt"`,
		"testdata/broken/04.txt:1: empty subject",
		"testdata/broken/05.txt: missing",
		"testdata/broken/06.txt:3: the body renders empty (rendering with sample data)",
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n  %s", len(problems), len(want), strings.Join(problems, "\n  "))
	}
	for i, w := range want {
		if i >= len(problems) || !strings.HasPrefix(problems[i], filepath.FromSlash(w)) {
			t.Errorf("problem %d: want prefix\n  %s\ngot:\n  %s", i, w, strings.Join(problems, "\n  "))
		}
	}
	wantWarnings := []string{
		"testdata/broken/07.txt: ignored: beyond the 6 steps of sequence broken",
		"testdata/good/04.txt: ignored: beyond the 3 steps of sequence good",
		"testdata/good/1.txt: ignored: name it 01.txt",
	}
	if strings.Join(warnings, "\n") != filepath.FromSlash(strings.Join(wantWarnings, "\n")) {
		t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(warnings, "\n  "), strings.Join(wantWarnings, "\n  "))
	}
}

func TestLoadSetFailsOnBrokenSet(t *testing.T) {
	seq := &configs.Sequence{Name: "broken", Steps: 6, Location: time.UTC}
	_, err := LoadSet(filepath.Join("testdata", "broken"), seq)
	var ps *configs.Problems
	if !errors.As(err, &ps) || len(ps.List) != 6 {
		t.Fatalf("LoadSet = %v; want the 6 problems found without rendering", err)
	}
}

func TestDateIn(t *testing.T) {
	fri := time.Date(2026, time.November, 20, 9, 30, 0, 0, rome(t))
	wed := time.Date(2026, time.January, 7, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang, layout string
		t            time.Time
		want         string
	}{
		{"it", "2 January", fri, "20 novembre"},
		{"it-IT", "Monday 2 January 2006, 15:04", fri, "venerdì 20 novembre 2026, 09:30"},
		{"it", "Mon 2 Jan", fri, "ven 20 nov"},
		{"pl", "2 January 2006", fri, "20 listopada 2026"},
		{"pl", "January 2006", fri, "listopad 2026"},
		{"pl", "Monday, 02.01.2006", wed, "środa, 07.01.2026"},
		{"de", "Monday, 2. January 2006", fri, "Freitag, 20. November 2026"},
		{"fr", "Monday 2 January", wed, "mercredi 7 janvier"},
		{"es", "2 de January de 2006", fri, "20 de noviembre de 2026"},
		{"en", "Monday 2 January", fri, "Friday 20 November"},
		{"pt", "2 January", fri, "20 November"}, // unknown languages fall back to English
		{"it", "Janet", fri, "Janet"},           // "Jan" before a lower-case letter is text, as in time.Format
	} {
		got, err := formatDateIn(tc.lang, tc.layout, tc.t)
		if err != nil || got != tc.want {
			t.Errorf("dateIn %q %q = %q, %v; want %q", tc.lang, tc.layout, got, err, tc.want)
		}
	}
	if _, err := formatDateIn("it", "2 January", time.Time{}); err == nil {
		t.Error("dateIn accepted a zero time")
	}
}

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want any
	}{{"", "there"}, {"  ", "there"}, {nil, "there"}, {"Anna", "Anna"}, {time.Time{}, "there"}, {3, 3}} {
		if got := defaultValue("there", tc.v); got != tc.want {
			t.Errorf("default %q %#v = %#v, want %#v", "there", tc.v, got, tc.want)
		}
	}
}

// TestShippedTemplatesCheckClean checks the shipped configs/drip.yaml,
// its sequences and templates/ as `drip check` does, from the project folder.
func TestShippedTemplatesCheckClean(t *testing.T) {
	t.Chdir("..")
	cfg, err := configs.Load("configs/drip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	problems, warnings := Check(cfg)
	if len(problems) > 0 {
		t.Errorf("%d problems in the shipped templates:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	if len(warnings) > 0 {
		t.Errorf("warnings in the shipped templates:\n  %s", strings.Join(warnings, "\n  "))
	}
	sets, err := LoadAll(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, set := range sets {
		if set.Steps() != cfg.Sequences[name].Steps {
			t.Errorf("%s: %d steps loaded, want %d", name, set.Steps(), cfg.Sequences[name].Steps)
		}
	}
}

// Render is called by every worker at once; the race detector checks it.
func TestRenderConcurrently(t *testing.T) {
	seq := goodSequence(t)
	set, err := LoadSet(filepath.Join("testdata", "good"), seq)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func() {
			d := SampleData(seq)
			_, err := set.Render(2, d)
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
