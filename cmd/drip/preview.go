package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

func init() {
	register(&command{
		name:    "preview",
		args:    "--sequence S --step K [--email E] [--language L] [--raw] [flags]",
		summary: "print the message that would be sent, headers and body decoded (--raw: the exact RFC 5322 bytes)",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			seq := fs.String("sequence", "", "sequence `NAME`")
			step := fs.Int("step", 1, "step `K` (1..steps)")
			email := fs.String("email", "", "an enrolled prospect's `ADDRESS` (default: sample data)")
			sender := fs.String("sender", "", "sender `NAME` (default: the enrollment's, else the first)")
			at := fs.String("at", "", "render as of this RFC 3339 `TIME` (default now)")
			raw := fs.Bool("raw", false, "print the exact RFC 5322 bytes that would be sent (encoded words, quoted-printable, CRLF)")
			lang := fs.String("language", "", "render the `LANGUAGE` folder's variant (it, pl, ...; default: the prospect's language with --email, else the default files)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				now := time.Now()
				if *at != "" {
					t, err := time.Parse(time.RFC3339, *at)
					if err != nil {
						return usagef("--at %q is not an RFC 3339 time (e.g. 2026-11-24T09:30:00+01:00)", *at)
					}
					now = t
				}
				return runPreview(ctx, g, previewArgs{sequence: *seq, step: *step, email: *email, sender: *sender, language: *lang, now: now, raw: *raw})
			}
		},
	})
}

type previewArgs struct {
	sequence, email, sender string
	language                string
	step                    int
	now                     time.Time
	raw                     bool // the wire form, not decoded
}

func runPreview(ctx context.Context, g *globals, a previewArgs) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	seqCfg, err := sequenceNamed(cfg, a.sequence)
	if err != nil {
		return err
	}
	if a.step < 1 || a.step > seqCfg.Steps {
		return usagef("--step %d: sequence %s has steps 1..%d", a.step, seqCfg.Name, seqCfg.Steps)
	}
	set, err := templates.LoadSet(templatesDir(cfg, seqCfg), seqCfg)
	if err != nil {
		return err
	}
	unsub, err := previewUnsubscriber(ctx, g, cfg, a.email != "")
	if err != nil {
		return err
	}
	seq := &sequencer.Sequence{Config: seqCfg, Templates: set}

	p, e, senderName, err := previewSubject(ctx, g, cfg, seq, a)
	if err != nil {
		return err
	}
	if a.sender != "" {
		senderName = a.sender
	}
	if a.language != "" {
		if set.Variant(a.language) == "" {
			return usagef("--language %s: sequence %s has no such language folder (it has: %s)", a.language, seqCfg.Name, orNone(set.Languages()))
		}
		p.Language = a.language
	}
	sc, ok := cfg.Sender(senderName)
	if !ok {
		return fmt.Errorf("no sender %q in %s", senderName, cfg.File)
	}
	snd, err := sequencer.NewSender(sc, nil)
	if err != nil {
		return err
	}
	msgID := fmt.Sprintf("<preview.%s.%d.%d@%s>", seqCfg.Name, p.ID, a.step, domainOf(snd.FromEmail))
	c, err := sequencer.Compose(seq, snd, p, e, a.step, msgID, daemon.UnsubscribeURL(cfg, unsub)(p.ID), a.now)
	if err != nil {
		return err
	}
	raw, err := mailer.Build(c.Message)
	if err != nil {
		return err
	}
	if a.raw {
		_, err = g.stdout.Write(raw)
		return err
	}
	// Decoded, what it shows comes from templates and prospect data: no
	// control character of theirs reaches the terminal.
	text, err := decodeMessage(raw)
	if err != nil {
		return err
	}
	_, err = termSafe{g.stdout}.Write(text)
	return err
}

// previewSubject is who the preview is for: the stored prospect and its
// enrollment with --email, else the sample prospect with a thread as if the
// earlier steps had been sent.
func previewSubject(ctx context.Context, g *globals, cfg *configs.Config, seq *sequencer.Sequence, a previewArgs) (store.Prospect, store.Enrollment, string, error) {
	if a.email != "" {
		st, err := openStore(ctx, g, cfg)
		if err != nil {
			return store.Prospect{}, store.Enrollment{}, "", err
		}
		defer st.Close()
		p, err := st.ProspectGetByEmail(ctx, a.email)
		if errors.Is(err, store.ErrNotFound) {
			return p, store.Enrollment{}, "", fmt.Errorf("no prospect %s", a.email)
		}
		if err != nil {
			return p, store.Enrollment{}, "", err
		}
		ens, err := st.EnrollmentsByProspect(ctx, p.ID)
		if err != nil {
			return p, store.Enrollment{}, "", err
		}
		for _, e := range ens {
			if e.Sequence == seq.Config.Name {
				return p, e, e.Sender, nil
			}
		}
		return p, store.Enrollment{}, "", fmt.Errorf("%s is not enrolled in %s", a.email, seq.Config.Name)
	}

	sample := templates.SampleData(seq.Config)
	sp := sample.Prospect
	p := store.Prospect{Email: sp.Email, FirstName: sp.FirstName, LastName: sp.LastName, Company: sp.Company,
		Title: sp.Title, Phone: sp.Phone, MetAt: sp.MetAt, Language: a.language, Fields: sp.Fields}
	e := store.Enrollment{Sequence: seq.Config.Name, FirstContact: sp.FirstContact, Anchor: sp.FirstContact}
	snd := cfg.DefaultSender()
	if seq.Config.Thread && a.step > 1 {
		// As if steps 1..K-1 had gone out: the thread subject is step 1's.
		s, err := sequencer.NewSender(snd, nil)
		if err != nil {
			return p, e, "", err
		}
		first, err := sequencer.Compose(seq, s, p, e, 1, "<x@x>", "", a.now)
		if err != nil {
			return p, e, "", err
		}
		refs := ""
		for k := 1; k < a.step; k++ {
			if refs != "" {
				refs += " "
			}
			refs += fmt.Sprintf("<preview.%s.0.%d@%s>", seq.Config.Name, k, domainOf(s.FromEmail))
		}
		e.ThreadSubject, e.ThreadRefs = first.ThreadSubject, refs
		e.LastStep = a.step - 1
	}
	return p, e, snd.Name, nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func domainOf(email string) string {
	for i := len(email) - 1; i >= 0; i-- {
		if email[i] == '@' {
			return email[i+1:]
		}
	}
	return "localhost"
}

func templatesDir(cfg *configs.Config, seq *configs.Sequence) string {
	return cfg.TemplatesDir + "/" + seq.Templates
}
