package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drip-email/drip/configs"
)

func languagesSequence(t *testing.T) *configs.Sequence {
	return &configs.Sequence{File: "testdata/languages.yaml", Name: "languages", Steps: 2, Templates: "languages", Location: rome(t)}
}

// A prospect's language picks its folder (by code, by region, by name);
// any other language, or none, gets the default files.
func TestRenderPicksTheProspectsLanguage(t *testing.T) {
	seq := languagesSequence(t)
	set, err := LoadSet(filepath.Join("testdata", "languages"), seq)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Languages(), ","); got != "it,pl" {
		t.Fatalf("languages = %s, want it,pl", got)
	}
	for _, tc := range []struct {
		lang, subject, body string
	}{
		{"it", "Piacere di conoscerla, Anna (2)", "Gentile Anna,\nè stato un piacere: passo 2 di 2, ci siamo visti venerdì 20 novembre."},
		{"IT", "Piacere di conoscerla, Anna (2)", "Gentile Anna"},
		{"it_IT", "Piacere di conoscerla, Anna (2)", "Gentile Anna"},
		{"Italiano", "Piacere di conoscerla, Anna (2)", "Gentile Anna"},
		{"pl", "Miło było Pana poznać, Anna (2)", "Dzień dobry Anna,\nkrok 2 z 2, Łódź, żółć."},
		{"pl-PL", "Miło było Pana poznać, Anna (2)", "Dzień dobry Anna"},
		{"Polski", "Miło było Pana poznać, Anna (2)", "Dzień dobry Anna"},
		{"en", "Nice to meet you, Anna (2)", "Hello Anna,\nstep 2 of 2 in English."},
		{"", "Nice to meet you, Anna (2)", "Hello Anna"},
		{"de", "Nice to meet you, Anna (2)", "Hello Anna"},
	} {
		d := SampleData(seq)
		d.Prospect.Language = tc.lang
		r, err := set.Render(2, d)
		if err != nil {
			t.Fatalf("%q: %v", tc.lang, err)
		}
		if r.Subject != tc.subject || !strings.Contains(r.Text, tc.body) {
			t.Errorf("language %q: got %q\n%s\nwant %q and %q", tc.lang, r.Subject, r.Text, tc.subject, tc.body)
		}
	}
}

// check renders every language folder, and a folder that lacks a step is
// one problem at file:line naming the language and the step.
func TestCheckEveryLanguageFolder(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "languages")
	if err := os.CopyFS(tdir, os.DirFS(filepath.Join("testdata", "languages"))); err != nil {
		t.Fatal(err)
	}
	seq := languagesSequence(t)
	cfg := &configs.Config{TemplatesDir: dir, Sequences: map[string]*configs.Sequence{"languages": seq}}
	if problems, warnings := Check(cfg); len(problems) > 0 || len(warnings) > 0 {
		t.Fatalf("complete folders: problems %q, warnings %q", problems, warnings)
	}

	if err := os.Remove(filepath.Join(tdir, "pl", "02.txt")); err != nil {
		t.Fatal(err)
	}
	// and a field the Italian variant does not have, found by rendering
	it := filepath.Join(tdir, "it", "01.txt")
	if err := os.WriteFile(it, []byte("Subject: Ciao\n\nGentile {{.Prospect.Nickname}},\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, _ := Check(cfg)
	want := []string{
		filepath.Join(tdir, "it", "01.txt") + ":3: .Prospect.Nickname: unknown field Nickname",
		filepath.Join(tdir, "pl", "02.txt") + ":1: missing: language pl lacks step 2; a language folder needs all 2 steps, like " + filepath.Join(tdir, "02.txt"),
	}
	if len(problems) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(problems, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q\nwant it to start with %q", i, problems[i], w)
		}
	}
	if _, err := LoadSet(tdir, seq); err == nil {
		t.Error("LoadSet loaded a set whose pl folder lacks a step")
	}
}
