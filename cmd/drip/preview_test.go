package main

import (
	"bytes"
	"context"
	"flag"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomail "github.com/emersion/go-message/mail"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

var update = flag.Bool("update", false, "rewrite the golden files of drip preview")

// golden compares got with testdata/NAME.golden (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("drip preview output differs from %s (run with -update if the change is intended)\n--- got ---\n%s", path, got)
	}
}

// previewRepo runs drip preview against the shipped configuration.
func previewRepo(t *testing.T, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	wd, _ := os.Getwd()
	repo := filepath.Join(wd, "..", "..")
	t.Chdir(repo) // the shipped config's paths are relative to the repository
	code := run(append([]string{"preview", "-c", "configs/drip.yaml", "--at", "2026-11-24T09:30:00+01:00"}, args...), &out, &errOut)
	t.Chdir(wd)
	if code != 0 {
		t.Fatalf("drip preview %v: exit %d: %s", args, code, errOut.String())
	}
	return out.Bytes()
}

func parse(t *testing.T, raw []byte) *gomail.Reader {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the previewed message does not parse: %v", err)
	}
	return r
}

// rawHeaderLines are the unfolded header field names of a message.
func rawHeaderLines(raw []byte) []string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	var names []string
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		names = append(names, strings.ToLower(name))
	}
	return names
}

// TestPreviewDecodedByDefault: drip preview shows what the prospect will
// read, the subject and body decoded; --raw the wire form.
func TestPreviewDecodedByDefault(t *testing.T) {
	got := string(previewRepo(t, "--sequence", "fiera", "--step", "1"))
	golden(t, "preview_fiera_1", []byte(got))
	for _, want := range []string{
		"\nSubject: Grazie per l'incontro in fiera — ne parliamo più a fondo?\n",
		"\nTo: \"Anna Bianchi\" <anna.bianchi@example.com>\n",
		"\nContent-Type: text/plain; charset=utf-8\n\nBuongiorno Anna,\n",
		"\nLa ringrazio per la visita al nostro stand (EICMA 2026): è stato un piacere conoscerLa il giorno 20 novembre.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("decoded preview lacks %q:\n%s", want, got)
		}
	}
	for _, wire := range []string{"=?utf-8?", "=C3", "\r", "Content-Transfer-Encoding", "Mime-Version"} {
		if strings.Contains(got, wire) {
			t.Errorf("decoded preview holds the wire form's %q", wire)
		}
	}
	// HTML beside the text: both parts, each decoded, under its type.
	got = string(previewRepo(t, "--sequence", "trade-fair", "--step", "2"))
	if !strings.Contains(got, "\nContent-Type: multipart/alternative\n\n--- text/plain; charset=utf-8 ---\nHi Anna,") ||
		!strings.Contains(got, "\n--- text/html; charset=utf-8 ---\n<p>Hi Anna,</p>") || strings.Contains(got, "boundary") {
		t.Errorf("decoded multipart preview:\n%s", got)
	}
}

func TestPreviewGoldenItalianStepOne(t *testing.T) {
	raw := previewRepo(t, "--raw", "--sequence", "fiera", "--step", "1")
	golden(t, "preview_fiera_1_raw", raw)
	h := parse(t, raw).Header
	subj, err := h.Subject()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subj, "più") || !strings.Contains(subj, "—") {
		t.Errorf("subject decoded to %q, want the Italian accents intact", subj)
	}
	if rawSubj := h.Get("Subject"); !strings.Contains(rawSubj, "=?utf-8?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", rawSubj)
	}
	// A second, independent decoder agrees.
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != subj {
		t.Errorf("mime.WordDecoder: %q, %v; want %q", got, err, subj)
	}
	if h.Get("List-Unsubscribe") == "" || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe %q, List-Unsubscribe-Post %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
	}
	if h.Get("In-Reply-To") != "" || h.Get("References") != "" {
		t.Errorf("step 1 must start the thread, has In-Reply-To %q References %q", h.Get("In-Reply-To"), h.Get("References"))
	}
}

func TestPreviewGoldenThreadedStep(t *testing.T) {
	first := parse(t, previewRepo(t, "--raw", "--sequence", "trade-fair", "--step", "1")).Header
	raw := previewRepo(t, "--raw", "--sequence", "trade-fair", "--step", "5")
	golden(t, "preview_trade_fair_5_raw", raw)
	golden(t, "preview_trade_fair_5", previewRepo(t, "--sequence", "trade-fair", "--step", "5"))
	h := parse(t, raw).Header
	rootSubj, _ := first.Subject()
	subj, _ := h.Subject()
	if subj != "Re: "+rootSubj {
		t.Errorf("step 5 subject %q, want %q", subj, "Re: "+rootSubj)
	}
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	if len(irt) != 1 || len(refs) != 4 || refs[len(refs)-1] != irt[0] {
		t.Fatalf("In-Reply-To %v, References %v: want the previous message last of 4", irt, refs)
	}
	if !strings.Contains(refs[0], ".1@") {
		t.Errorf("References %v: step 1's Message-ID must come first", refs)
	}
	// With an HTML template beside the text one: multipart/alternative.
	raw = previewRepo(t, "--raw", "--sequence", "trade-fair", "--step", "2")
	if ct := parse(t, raw).Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("step 2 has 02.html; Content-Type %q, want multipart/alternative", ct)
	}
}

// TestPreviewSubjectsEncodeAndDecodeIntact: Italian and Polish subjects
// written by users (not only the shipped ones) go out intact.
func TestPreviewSubjectsEncodeAndDecodeIntact(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	for name, subject := range map[string]string{
		"perche": "Perché ne parliamo ancora, {{.Prospect.FirstName}}?",
		"polski": "Czy to może Panu zależeć, {{.Prospect.FirstName}}? Źdźbło łąki",
	} {
		dir := filepath.Join(e.dir, "templates", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		e.write("sequences/"+name+".yaml", []byte("name: "+name+"\nsteps: 1\ninterval: 1d\nfirst_step_after: 0\ntimezone: Europe/Warsaw\ntemplates: "+name+"\n"))
		e.write("templates/"+name+"/01.txt", []byte("Subject: "+subject+"\n\nDzień dobry {{.Prospect.FirstName}}, perché no?\n{{.UnsubscribeURL}}\n"))
	}
	for name, want := range map[string]string{
		"perche": "Perché ne parliamo ancora, Anna?",
		"polski": "Czy to może Panu zależeć, Anna? Źdźbło łąki",
	} {
		raw := []byte(e.mustDrip("preview", "--raw", "--sequence", name, "--step", "1", "--at", "2026-11-24T09:30:00+01:00"))
		golden(t, "preview_"+name+"_raw", raw)
		decoded := e.mustDrip("preview", "--sequence", name, "--step", "1", "--at", "2026-11-24T09:30:00+01:00")
		golden(t, "preview_"+name, []byte(decoded))
		if !strings.Contains(decoded, "\nSubject: "+want+"\n") || !strings.Contains(decoded, "\nDzień dobry Anna, perché no?\n") {
			t.Errorf("%s: decoded preview:\n%s", name, decoded)
		}
		h := parse(t, raw).Header
		got, _ := h.Subject()
		if got != want {
			t.Errorf("%s: subject decodes to %q, want %q", name, got, want)
		}
		if strings.ContainsFunc(h.Get("Subject"), func(r rune) bool { return r > 127 }) {
			t.Errorf("%s: raw Subject %q has non-ASCII bytes; want RFC 2047 words", name, h.Get("Subject"))
		}
		dec := new(mime.WordDecoder)
		if got2, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got2 != want {
			t.Errorf("%s: mime.WordDecoder gives %q, %v", name, got2, err)
		}
		text, err := parse(t, raw).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		if _, err := body.ReadFrom(text.Body); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body.String(), "Dzień dobry Anna, perché no?") {
			t.Errorf("%s: body %q, want the UTF-8 text intact after quoted-printable", name, body.String())
		}
	}
}

// TestPreviewProspectFieldCannotInjectHeaders: a stored prospect whose
// fields carry CR/LF (written straight to the store, past every input
// check) still yields one Subject and no extra header.
func TestPreviewProspectFieldCannotInjectHeaders(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	e.write("templates/trade-fair/01.txt", []byte("Subject: Hello {{.Prospect.FirstName}} from {{.Prospect.Company}}\n\nHi {{.Prospect.FirstName}}\n"))
	for k := 2; k <= 60; k++ {
		e.write(filepath.Join("templates/trade-fair", twoDigits(k)+".txt"), []byte("Subject: step\n\nbody\n"))
	}
	c := e.control()
	ctx := context.Background()
	p := store.Prospect{Email: "anna@example.net", FirstName: "Anna\r\nBcc: evil@example.com", LastName: "B\nX-Injected: last", Company: "ACME\r\n\r\nbody-injection"}
	if _, err := c.Store.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	en := store.Enrollment{ProspectID: p.ID, Sequence: "trade-fair", Sender: "maria", State: store.StateActive}
	if _, err := c.Store.EnrollmentCreate(ctx, &en); err != nil {
		t.Fatal(err)
	}
	raw := []byte(e.mustDrip("preview", "--raw", "--sequence", "trade-fair", "--step", "1", "--email", "anna@example.net"))
	names := rawHeaderLines(raw)
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	if count["bcc"] != 0 || count["x-injected"] != 0 || count["subject"] != 1 || count["to"] != 1 {
		t.Fatalf("header fields %v: a prospect field added or split a header\n%s", names, raw)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Header.Get("Subject"), "\n") {
		t.Errorf("Subject %q spans lines", m.Header.Get("Subject"))
	}
}

func twoDigits(k int) string {
	return string([]byte{byte('0' + k/10), byte('0' + k%10)})
}
