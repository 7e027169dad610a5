package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
)

// oneStep writes a one-step template set with body and loads it.
func oneStep(t *testing.T, body string) (*configs.Sequence, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "01.txt"), []byte("Subject: hi\n\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &configs.Sequence{File: "seq.yaml", Name: "s", Steps: 1, Templates: "s", Location: time.UTC}, dir
}

// TestLoopingTemplateRefused: a loop over a number (or anything but the
// data's lists and maps) is refused when the templates load, with its
// file and line, before anything renders it.
func TestLoopingTemplateRefused(t *testing.T) {
	for _, body := range []string{
		"a\n{{range 100000000000}}{{end}}\n",
		"a\n{{range .Steps}}x{{end}}\n",
		"a\n{{range $i := 100000000000}}{{end}}\n",
		"a\n{{with .Prospect}}{{range .Fields}}{{end}}{{end}}\n",
	} {
		seq, dir := oneStep(t, body)
		start := time.Now()
		_, err := LoadSet(dir, seq)
		if err == nil || !strings.Contains(err.Error(), "01.txt:4: {{range}} may only walk") {
			t.Errorf("%q: error %v; want 01.txt:4 refusing the range", body, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%q: refusing took %s", body, d)
		}
	}
	seq, dir := oneStep(t, "{{range $k, $v := .Prospect.Fields}}{{$k}}={{$v}} {{end}}\n{{range .Prospect.Fields}}{{.}}{{end}}\n")
	if _, err := LoadSet(dir, seq); err != nil {
		t.Errorf("a range over the custom fields is refused: %v", err)
	}
}

// TestHugeRenderRefused: a render of 50 MB fails the step instead of
// going out, quickly, and names the file.
func TestHugeRenderRefused(t *testing.T) {
	seq, dir := oneStep(t, "{{range .Prospect.Fields}}{{.}}{{end}}\n")
	set, err := LoadSet(dir, seq)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(seq)
	mb := strings.Repeat("x", 1<<20)
	for i := range 50 {
		d.Prospect.Fields[fmt.Sprintf("f%02d", i)] = mb
	}
	start := time.Now()
	_, err = set.Render(1, d)
	if err == nil || !strings.Contains(err.Error(), "01.txt: renders to more than") {
		t.Fatalf("50 MB render: error %v; want it refused as too large", err)
	}
	if el := time.Since(start); el > RenderBudget {
		t.Errorf("refusing took %s", el)
	}
}

// TestSlowRenderStopsWithinBudget: a render that the linter lets through
// but that runs for long (nested loops over many fields, nothing written)
// fails after RenderBudget; the caller does not wait for it.
func TestSlowRenderStopsWithinBudget(t *testing.T) {
	seq, dir := oneStep(t, "x{{range $.Prospect.Fields}}{{range $.Prospect.Fields}}{{range $.Prospect.Fields}}{{end}}{{end}}{{end}}\n")
	set, err := LoadSet(dir, seq)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(seq)
	for i := range 400 {
		d.Prospect.Fields[fmt.Sprintf("f%03d", i)] = "v"
	}
	start := time.Now()
	_, err = set.Render(1, d)
	el := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "longer than") || !errors.Is(err, ErrRenderTooSlow) {
		t.Fatalf("slow render (%s): error %v; want it stopped by the time budget, as ErrRenderTooSlow (a sender retries it)", el, err)
	}
	if el > RenderBudget+time.Second {
		t.Errorf("the render returned after %s; budget %s", el, RenderBudget)
	}
}

func TestOversizedTemplateFileRefused(t *testing.T) {
	seq, dir := oneStep(t, strings.Repeat("line of text\n", MaxTemplateBytes/13+1))
	if _, err := LoadSet(dir, seq); err == nil || !strings.Contains(err.Error(), "a step template may have at most") {
		t.Fatalf("oversized template: %v", err)
	}
}
