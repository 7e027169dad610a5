package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/drip-email/drip/store"
)

// copyTree replaces the folder to with a copy of the folder from.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// delivered is one message the sink received, decoded as a mail client
// shows it: the Subject, and the text/plain part.
type delivered struct{ subject, text, html string }

func decodeDelivered(t *testing.T, raw []byte) delivered {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("a delivered message does not parse: %v", err)
	}
	var d delivered
	if d.subject, err = r.Header.Subject(); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*gomail.InlineHeader); ok {
			b, _ := io.ReadAll(p.Body)
			switch ct, _, _ := h.ContentType(); ct {
			case "text/plain":
				d.text = string(b)
			case "text/html":
				d.html = string(b)
			}
		}
	}
	return d
}

// Acceptance (issue 15, 1): a list mixing it, pl, en and no language, on
// the shipped trade-fair templates with their Italian and Polish folders:
// `drip serve` delivers each prospect its variant, accents intact in the
// Subject and the body; `drip status` counts by language; and `drip check`
// names the file and line of a step the pl folder lacks.
func TestEachProspectGetsItsLanguage(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			sink := smtptest.New(t, smtptest.Options{})
			e := newProcEnv(t, sink, procSetup{dbURL: sk.URL(t), workers: 2, steps: 60, interval: "10d"})
			tpl := filepath.Join(e.dir, "templates", procSequence)
			wd, _ := os.Getwd()
			copyTree(t, filepath.Join(wd, "..", "..", "templates", "trade-fair"), tpl)
			if out, errOut, code := e.drip("check"); code != 0 || !strings.Contains(out, "ok:") {
				t.Fatalf("drip check of the shipped templates: exit %d\n%s%s", code, out, errOut)
			}

			csv := "email,first_name,company,met_at,language\n" +
				"giulia@example.it,Giulia,Ferri Utensili S.r.l.,EIMA 2026,it\n" +
				"lukasz@example.pl,Łukasz,Żywiec Tech sp. z o.o.,EIMA 2026,pl\n" +
				"john@example.com,John,Acme Ltd,EIMA 2026,en\n" +
				"ana@example.com,Ana,Bianchi S.p.A.,EIMA 2026,\n" +
				"marco@example.it,Marco,Rossi S.r.l.,EIMA 2026,IT\n"
			file := filepath.Join(e.dir, "mixed.csv")
			if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, errOut, code := e.drip("import", "--sequence", procSequence, file); code != 0 || !strings.Contains(out, "imported=5 ") {
				t.Fatalf("drip import: exit %d\n%s%s", code, out, errOut)
			}
			child := e.serve("a")
			e.waitFor(time.Minute, "five deliveries", func() (bool, string) {
				n := len(sink.Messages())
				return n >= 5, strings.Repeat("*", n)
			})
			e.term(child)

			got := map[string]delivered{}
			for _, m := range sink.Messages() {
				got[strings.ToLower(m.To[0])] = decodeDelivered(t, m.Data)
			}
			for _, w := range []struct {
				email, subject string
				body           []string
			}{
				{"giulia@example.it", "Un piacere conoscerla a EIMA 2026", []string{"Buongiorno Giulia,", "grazie della visita al nostro stand a EIMA 2026 il ",
					"Ferri Utensili S.r.l. sta rivedendo la gestione delle forniture", "Preferisce non ricevere più le mie email? Basta un clic: https://drip.example.com/u/"}},
				{"marco@example.it", "Un piacere conoscerla a EIMA 2026", []string{"Buongiorno Marco,"}},
				{"lukasz@example.pl", "Dziękuję za rozmowę na EIMA 2026", []string{"Dzień dobry,", "O ile dobrze rozumiem, w firmie Żywiec Tech sp. z o.o. porządkują Państwo temat dostaw",
					"Jeśli nie chcą Państwo więcej wiadomości ode mnie, wystarczy jedno kliknięcie: https://drip.example.com/u/"}},
				{"john@example.com", "Great to meet you at EIMA 2026", []string{"Hi John,", "As I understood it, Acme Ltd is reviewing"}},
				{"ana@example.com", "Great to meet you at EIMA 2026", []string{"Hi Ana,", "As I understood it, Bianchi S.p.A. is reviewing"}},
			} {
				d, ok := got[w.email]
				if !ok {
					t.Errorf("%s received nothing", w.email)
					continue
				}
				if d.subject != w.subject {
					t.Errorf("%s: Subject %q, want %q", w.email, d.subject, w.subject)
				}
				for _, b := range w.body {
					if !strings.Contains(d.text, b) {
						t.Errorf("%s: body lacks %q:\n%s", w.email, b, d.text)
					}
				}
			}

			// Step 1 has an HTML alternative in each language.
			for email, want := range map[string]string{"giulia@example.it": "<p>Buongiorno Giulia,</p>",
				"lukasz@example.pl": "wypisz mnie</a>", "john@example.com": "<p>Hi John,</p>"} {
				if !strings.Contains(got[email].html, want) {
					t.Errorf("%s: HTML part lacks %q:\n%s", email, want, got[email].html)
				}
			}

			// The funnel by language: it (it and IT), pl, en, none.
			out, _, _ := e.drip("status")
			for _, row := range []string{`language none\s+1\s`, `language en\s+1\s`, `language it\s+2\s`, `language pl\s+1\s`} {
				if !regexp.MustCompile(`(?m)^\s+` + row).MatchString(out) {
					t.Errorf("status lacks %s:\n%s", row, out)
				}
			}
			var langs []store.LanguageStats
			if langs, _ = e.store().SequenceLanguageStats(t.Context(), procSequence); len(langs) != 5 {
				t.Errorf("stored languages: %+v", langs)
			}

			// A Polish folder without step 7: check fails at its file and line.
			if err := os.Remove(filepath.Join(tpl, "pl", "07.txt")); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := e.drip("check")
			want := filepath.Join(tpl, "pl", "07.txt") + ":1: missing: language pl lacks step 7"
			if code != 1 || !strings.Contains(errOut, want) {
				t.Errorf("check without pl/07.txt: exit %d, stderr:\n%s\nwant %q", code, errOut, want)
			}
		})
	}
}

// drip preview --language renders that language's folder of the shipped
// trade-fair sequence, the thread subject included (read from the wire
// form, --raw, as a mail client would); a language the
// sequence has no folder for is refused with those it has.
func TestPreviewLanguage(t *testing.T) {
	raw := previewRepo(t, "--sequence", "trade-fair", "--step", "3", "--language", "pl", "--raw")
	d := decodeDelivered(t, raw)
	if d.subject != "Re: Dziękuję za rozmowę na EICMA 2026" || !strings.Contains(d.text, "co jest dla Państwa teraz najważniejsze?") {
		t.Errorf("pl step 3: %q\n%s", d.subject, d.text)
	}
	if d := decodeDelivered(t, previewRepo(t, "--sequence", "trade-fair", "--step", "1", "--raw")); d.subject != "Great to meet you at EICMA 2026" {
		t.Errorf("without --language: %q, want the default (English) files", d.subject)
	}
	var out, errOut bytes.Buffer
	wd, _ := os.Getwd()
	t.Chdir(filepath.Join(wd, "..", ".."))
	code := run([]string{"preview", "-c", "configs/drip.yaml", "--sequence", "trade-fair", "--language", "de"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--language de: sequence trade-fair has no such language folder (it has: it, pl)") {
		t.Errorf("--language de: exit %d, %q", code, errOut.String())
	}
}
