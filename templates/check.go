package templates

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
)

// SampleData is a plausible prospect for seq, with every custom field that
// seq declares set, as `drip check` and previews use it. Its first contact
// is Friday 20 November 2026 in the sequence's time zone.
func SampleData(seq *configs.Sequence) Data {
	loc := seq.Location
	if loc == nil {
		loc = time.UTC
	}
	fields := make(map[string]string, len(seq.Fields))
	for _, f := range seq.Fields {
		fields[f] = "sample " + f
	}
	return Data{
		Prospect: Prospect{
			Email:        "anna.bianchi@example.com",
			FirstName:    "Anna",
			LastName:     "Bianchi",
			Company:      "Bianchi Meccanica S.r.l.",
			Title:        "Purchasing Manager",
			Phone:        "+39 02 1234567",
			MetAt:        "EICMA 2026",
			Language:     "it",
			FirstContact: time.Date(2026, time.November, 20, 0, 0, 0, 0, loc),
			Fields:       fields,
		},
		Sender:         Sender{Name: "maria", FromName: "Maria Rossi", Email: "maria@example.com"},
		Steps:          seq.Steps,
		UnsubscribeURL: "https://drip.example.com/u/sample-token",
	}
}

// SenderData is a configured sender as templates see it.
func SenderData(s *configs.Sender) Sender {
	a := s.Address()
	return Sender{Name: s.Name, FromName: a.Name, Email: a.Address}
}

// Check loads the templates of every sequence in cfg and renders every
// step with SampleData (sent by cfg's default sender), and reports each
// problem as one "file:line: message". warnings are notes that do not make
// a configuration invalid (a numbered file beyond the sequence's steps).
//
// A sequence whose templates folder does not exist is skipped: configs.Load
// already reports it.
func Check(cfg *configs.Config) (problems, warnings []string) {
	return CheckContext(context.Background(), cfg)
}

// CheckContext is Check that stops when ctx ends.
func CheckContext(ctx context.Context, cfg *configs.Config) (problems, warnings []string) {
	for _, name := range cfg.SequenceNames() {
		seq := cfg.Sequences[name]
		p, w := CheckSequenceContext(ctx, cfg, seq)
		problems = append(problems, p...)
		warnings = append(warnings, w...)
	}
	return problems, warnings
}

// CheckSequence is Check for one sequence.
func CheckSequence(cfg *configs.Config, seq *configs.Sequence) (problems, warnings []string) {
	return CheckSequenceContext(context.Background(), cfg, seq)
}

// CheckSequenceContext is CheckSequence that stops rendering when ctx ends
// (a reload interrupted by shutdown), with a problem saying so.
func CheckSequenceContext(ctx context.Context, cfg *configs.Config, seq *configs.Sequence) (problems, warnings []string) {
	dir := filepath.Join(cfg.TemplatesDir, seq.Templates)
	if !isDir(dir) || seq.Steps < 1 || seq.Steps > configs.MaxSteps {
		return nil, nil // configs.Load reports these
	}
	set, ps, warnings := load(dir, seq)
	problems = ps.List
	d := SampleData(seq)
	if s := cfg.DefaultSender(); s != nil {
		d.Sender = SenderData(s)
	}
	if u := strings.TrimRight(cfg.HTTP.PublicURL, "/"); u != "" {
		d.UnsubscribeURL = u + "/u/sample-token"
	}
	// The default files, then each language folder, rendered with the
	// sample prospect speaking that language.
	folders := []*Set{set}
	for _, l := range set.Languages() {
		folders = append(folders, set.variants[l])
	}
	for _, f := range folders {
		if f.Language != "" {
			d.Prospect.Language = f.Language
		}
		for k := 1; k <= f.Steps(); k++ {
			if f.steps[k-1] == nil {
				continue // its problems are already listed
			}
			if ctx.Err() != nil {
				return append(problems, fmt.Sprintf("%s: checking stopped at step %d: %v", f.Dir, k, ctx.Err())), warnings
			}
			if _, err := f.render(k, d); err != nil {
				problems = append(problems, fmt.Sprintf("%v (rendering with sample data)", err))
			}
		}
	}
	return problems, warnings
}
