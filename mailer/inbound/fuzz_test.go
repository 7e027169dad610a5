package inbound

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var validKinds = map[Kind]bool{Reply: true, AutoReply: true, Bounce: true, Delayed: true, Unsubscribe: true, Own: true, Unknown: true}

// FuzzParseClassify: no input makes Parse or Classify panic, and what they
// return keeps its promises (normalised ids, lower-case addresses, a kind
// from the list, a dedup key).
func FuzzParseClassify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b.c\n\nSTOP"))
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@b.c\nStatus: 5.1.1\n--x--"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n"))
	f.Add([]byte("Content-Type: text/html\n\n<div class=gmail_quote><style>"))
	f.Add([]byte("Content-Transfer-Encoding: base64\nContent-Type: text/plain; charset=iso-2022-jp\n\n!!!!"))

	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			return
		}
		if m.Key == "" {
			t.Error("empty Key")
		}
		res := Classify(m, []string{"Rep <rep@example.com>"})
		if !validKinds[res.Kind] {
			t.Errorf("Kind %q", res.Kind)
		}
		if res.Key != m.Key {
			t.Errorf("Key %q != %q", res.Key, m.Key)
		}
		for _, id := range res.MessageIDs {
			checkID(t, id)
		}
		for _, a := range res.Addresses {
			if a == "" || a != strings.ToLower(a) || !strings.Contains(a, "@") {
				t.Errorf("address %q", a)
			}
		}
		for _, r := range res.Recipients {
			if r.Kind != Bounce && r.Kind != Delayed {
				t.Errorf("recipient kind %q", r.Kind)
			}
		}
		if res.Kind != Bounce && res.Kind != Delayed && len(res.Recipients) > 0 {
			t.Errorf("%s with recipients %v", res.Kind, res.Recipients)
		}
		if !utf8.ValidString(res.Detail) {
			t.Errorf("Detail not UTF-8: %q", res.Detail)
		}
	})
}

// FuzzMessageIDs: any header value yields well-formed, distinct ids.
func FuzzMessageIDs(f *testing.F) {
	for _, s := range []string{
		"<a@b>", "<a@b> <c@d>", " <a@b\r\n c> ", "<junk <a@b>", "<a@b", "a@b, c@d", "<>", "<<<>>>", "(x) <a@b> (y)",
		"<CAJx8vR2m0Q7Lk5p4Yt9nA1bC3dE5fG7hI9jK1lM3nO5pQ7rS@mail.gmail.com>",
		"<topic/22638@meta.discourse.org>\n  <topic/22638/86406@meta.discourse.org>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ids := MessageIDs(v)
		if len(ids) > maxIDs {
			t.Errorf("%d ids", len(ids))
		}
		seen := map[string]bool{}
		for _, id := range ids {
			checkID(t, id)
			if seen[id] {
				t.Errorf("duplicate %q", id)
			}
			seen[id] = true
		}
	})
}

func checkID(t *testing.T, id string) {
	t.Helper()
	if len(id) < 3 || id[0] != '<' || id[len(id)-1] != '>' || len(id) > maxIDLength+2 ||
		strings.ContainsAny(id, " \t\r\n") || strings.ContainsAny(id[1:len(id)-1], "<>") {
		t.Errorf("malformed id %q", id)
	}
}
