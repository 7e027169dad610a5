package mailer

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return loc
}()

func baseMessage() Message {
	return Message{
		FromName:       "Maria Rossi",
		FromEmail:      "maria@example.com",
		ToName:         "John Smith",
		ToEmail:        "john.smith@acme.example",
		Subject:        "Great meeting you at the Expo",
		Text:           "Hi John,\n\nit was great to meet you at the Expo in Milan last week. As promised, here is the link to our catalogue: https://example.com/catalogue?lang=en&ref=expo-2026 (the 2027 prices are inside).\n\nBest regards,\nMaria\n",
		MessageID:      "<step1.4dfg7k2p@example.com>",
		Date:           time.Date(2026, 11, 24, 9, 30, 2, 0, rome),
		UnsubscribeURL: "https://drip.example.com/u/AQs2kX1mLwQ0ZgT9Qm5yVg",
	}
}

func goldenCases() map[string]Message {
	cases := map[string]Message{}

	cases["plain_step1"] = baseMessage()

	m := baseMessage()
	m.Subject = "Re: Great meeting you at the Expo"
	m.Text = "Hi John,\n\njust a short follow-up on my last email. Would a call next Tuesday work?\n\nMaria\n"
	m.MessageID = "<step5.0q9w8e7r@example.com>"
	m.Date = time.Date(2027, 1, 5, 10, 0, 0, 0, rome)
	m.InReplyTo = "<step4.zz11yy22@example.com>"
	m.References = []string{"<step1.4dfg7k2p@example.com>", "<step2.aa00bb11@example.com>", "<step3.cc22dd33@example.com>", "<step4.zz11yy22@example.com>"}
	m.UnsubscribeMailto = "unsubscribe@example.com?subject=unsubscribe"
	cases["threaded_step5"] = m

	m = baseMessage()
	m.ToName = "Niccolò Ferrà"
	m.ToEmail = "niccolo.ferra@esempio.it"
	m.Subject = "Grazie — perché ne parliamo ancora?"
	m.Text = "Gentile Niccolò,\n\ngrazie per la visita al nostro stand. Perché non ne parliamo ancora, magari davanti a un caffè? Così è più facile.\n\nCordiali saluti,\nMaria\n"
	cases["italian"] = m

	m = baseMessage()
	m.FromName = "Łukasz Wójcik"
	m.FromEmail = "lukasz@example.com"
	m.ToName = "Zażółć Gęślą"
	m.ToEmail = "jazn@przyklad.pl"
	m.Subject = "Czy to może Panu zależeć?"
	m.Text = "Szanowny Panie,\n\nczy to może Panu zależeć? Zażółć gęślą jaźń.\n\nZ poważaniem,\nŁukasz\n"
	cases["polish"] = m

	m = baseMessage()
	m.HTML = "<p>Hi John,</p>\n<p>it was great to meet you at the <b>Expo</b>. Our catalogue: <a href=\"https://example.com/catalogue?lang=en&amp;ref=expo-2026\">here</a>.</p>\n<p>Best regards,<br>Maria</p>\n"
	cases["alternative"] = m

	return cases
}

func TestBuildGolden(t *testing.T) {
	for name, m := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			got, err := Build(m)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Build output differs from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
			again, _ := Build(m)
			if !bytes.Equal(got, again) {
				t.Error("Build is not deterministic")
			}
		})
	}
}

// Every golden message decodes back to what went in, with go-message and
// with the standard library.
func TestBuildDecodesBack(t *testing.T) {
	for name, m := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			raw, err := Build(m)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			checkLines(t, raw)

			// go-message
			r, err := mail.CreateReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("go-message cannot read the message: %v", err)
			}
			if got, err := r.Header.Subject(); err != nil || got != m.Subject {
				t.Errorf("go-message Subject = %q, %v; want %q", got, err, m.Subject)
			}
			from, err := r.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != m.FromName || from[0].Address != m.FromEmail {
				t.Errorf("go-message From = %v, %v", from, err)
			}
			to, err := r.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != m.ToName || to[0].Address != m.ToEmail {
				t.Errorf("go-message To = %v, %v", to, err)
			}
			if id, err := r.Header.MessageID(); err != nil || "<"+id+">" != m.MessageID {
				t.Errorf("go-message Message-ID = %q, %v; want %s", id, err, m.MessageID)
			}
			refs, err := r.Header.MsgIDList("References")
			if err != nil || len(refs) != len(m.References) {
				t.Errorf("go-message References = %v, %v; want %v", refs, err, m.References)
			}
			for i := range refs {
				if "<"+refs[i]+">" != m.References[i] {
					t.Errorf("References[%d] = %q, want %q", i, refs[i], m.References[i])
				}
			}
			if d, err := r.Header.Date(); err != nil || !d.Equal(m.Date) {
				t.Errorf("Date = %v, %v; want %v", d, err, m.Date)
			}
			var bodies []string
			var types []string
			for {
				p, err := r.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("reading part: %v", err)
				}
				ct, params, _ := p.Header.(*mail.InlineHeader).ContentType()
				if params["charset"] != "utf-8" {
					t.Errorf("%s part charset = %q, want utf-8", ct, params["charset"])
				}
				b, _ := io.ReadAll(p.Body)
				bodies = append(bodies, strings.ReplaceAll(string(b), "\r\n", "\n"))
				types = append(types, ct)
			}
			wantTypes := []string{"text/plain"}
			wantBodies := []string{m.Text}
			if m.HTML != "" {
				wantTypes = append(wantTypes, "text/html")
				wantBodies = append(wantBodies, m.HTML)
			}
			if fmt.Sprint(types) != fmt.Sprint(wantTypes) {
				t.Fatalf("parts = %v, want %v (text first, html second)", types, wantTypes)
			}
			for i := range bodies {
				if bodies[i] != wantBodies[i] {
					t.Errorf("%s body = %q, want %q", types[i], bodies[i], wantBodies[i])
				}
			}

			// net/mail + mime.WordDecoder
			msg, err := netmail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("net/mail cannot read the message: %v", err)
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subj != m.Subject {
				t.Errorf("net/mail Subject = %q, %v; want %q", subj, err, m.Subject)
			}
			if a, err := msg.Header.AddressList("From"); err != nil || a[0].Name != m.FromName {
				t.Errorf("net/mail From = %v, %v; want name %q", a, err, m.FromName)
			}
			if a, err := msg.Header.AddressList("To"); err != nil || a[0].Name != m.ToName || a[0].Address != m.ToEmail {
				t.Errorf("net/mail To = %v, %v", a, err)
			}
			if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			wantUnsub := "<" + m.UnsubscribeURL + ">"
			if m.UnsubscribeMailto != "" {
				wantUnsub += ", <mailto:" + m.UnsubscribeMailto + ">"
			}
			if got := msg.Header.Get("List-Unsubscribe"); got != wantUnsub {
				t.Errorf("List-Unsubscribe = %q, want %q", got, wantUnsub)
			}
			if got := msg.Header.Get("In-Reply-To"); got != m.InReplyTo {
				t.Errorf("In-Reply-To = %q, want %q", got, m.InReplyTo)
			}
			if got := msg.Header.Get("Mime-Version"); got != "1.0" {
				t.Errorf("MIME-Version = %q", got)
			}
		})
	}
}

// checkLines asserts what every MTA expects of a message: CRLF line ends,
// 7-bit bytes only (QP and RFC 2047 did their job), lines of at most 78
// characters.
func checkLines(t *testing.T, raw []byte) {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 78 {
			t.Errorf("line %d is %d long: %q", i+1, len(line), line)
		}
		for _, b := range []byte(line) {
			if b >= 0x80 {
				t.Errorf("line %d has 8-bit data: %q", i+1, line)
				break
			}
		}
	}
}

// Long subjects fold into lines of at most 78 characters and still decode
// back intact; the one-character subjects hit the word-splitting edges.
func TestBuildLongSubjects(t *testing.T) {
	for _, subject := range []string{
		strings.Repeat("Zażółć gęślą jaźń — perché ", 6),
		strings.Repeat("ż", 80),
		"A very long plain English subject line that goes on and on about the meeting we had at the Expo",
		strings.Repeat("x", 50) + "é" + strings.Repeat("y", 50) + " = ? _ =?utf-8?q?fake?=",
		"Looks =?utf-8?q?encoded?= but is not",
		"é",
		"",
	} {
		m := baseMessage()
		m.Subject = subject
		subject = strings.TrimSpace(subject)
		raw, err := Build(m)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, raw)
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
			t.Errorf("net/mail Subject = %q, %v; want %q", got, err, subject)
		}
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Header.Subject(); err != nil || got != subject {
			t.Errorf("go-message Subject = %q, %v; want %q", got, err, subject)
		}
	}
}

// Long non-ASCII display names are left to net/mail's formatting: they
// decode intact but may exceed 78 characters (RFC 5322 allows 998).
func TestBuildLongNames(t *testing.T) {
	m := baseMessage()
	m.ToName = "Małgorzata Brzęczyszczykiewicz-Żółkiewska z Przybyszewskich"
	m.FromName = "Ćwierćwiecze Źdźbło Żółtoskrzydłe Gżegżółka"
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := msg.Header.AddressList("To"); err != nil || a[0].Name != m.ToName {
		t.Errorf("To = %v, %v", a, err)
	}
	if a, err := msg.Header.AddressList("From"); err != nil || a[0].Name != m.FromName {
		t.Errorf("From = %v, %v", a, err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line over 998 characters: %q", line)
		}
	}
}

func TestBuildHeaderInjection(t *testing.T) {
	evil := "Anna\r\nBcc: evil@x.com"
	m := baseMessage()
	m.FromName = "Maria\nBcc: evil@x.com"
	m.ToName = evil
	m.Subject = "Hello " + evil + "\rX-Evil: 1\x00\x1b"
	raw, err := Build(m)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	checkLines(t, raw)
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		k, _, _ := strings.Cut(line, ":")
		if strings.EqualFold(k, "Bcc") || strings.EqualFold(k, "X-Evil") {
			t.Errorf("injected header line %q in:\n%s", line, head)
		}
	}
	subjectLines := 0
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(line, "Subject:") {
			subjectLines++
		}
	}
	if subjectLines != 1 {
		t.Errorf("%d Subject lines", subjectLines)
	}

	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Has("Bcc") || r.Header.Has("X-Evil") {
		t.Error("parsed message has an injected header")
	}
	if got, _ := r.Header.Subject(); got != "Hello Anna  Bcc: evil@x.com X-Evil: 1" {
		t.Errorf("Subject = %q", got)
	}
	to, err := r.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != m.ToEmail || to[0].Name != "Anna  Bcc: evil@x.com" {
		t.Errorf("To = %v, %v; want one address %s", to, err, m.ToEmail)
	}
}

func TestBuildRefusesBadFields(t *testing.T) {
	for name, mutate := range map[string]func(*Message){
		"invalid To":                 func(m *Message) { m.ToEmail = "not-an-address" },
		"empty To":                   func(m *Message) { m.ToEmail = "" },
		"To with a display name":     func(m *Message) { m.ToEmail = "John <john@acme.example>" },
		"To with CRLF":               func(m *Message) { m.ToEmail = "john@acme.example\r\nBcc: evil@x.com" },
		"two To addresses":           func(m *Message) { m.ToEmail = "a@x.com, b@x.com" },
		"invalid From":               func(m *Message) { m.FromEmail = "maria@" },
		"no Message-ID":              func(m *Message) { m.MessageID = "" },
		"Message-ID without @":       func(m *Message) { m.MessageID = "<abc>" },
		"Message-ID with CRLF":       func(m *Message) { m.MessageID = "<a@b>\r\nBcc: evil@x.com" },
		"In-Reply-To with CRLF":      func(m *Message) { m.InReplyTo = "<a@b>\r\nBcc: evil@x.com" },
		"References with a space":    func(m *Message) { m.References = []string{"<a@b> Bcc: evil@x.com"} },
		"no Date":                    func(m *Message) { m.Date = time.Time{} },
		"unsubscribe URL with CRLF":  func(m *Message) { m.UnsubscribeURL += "\r\nBcc: evil@x.com" },
		"unsubscribe URL not http":   func(m *Message) { m.UnsubscribeURL = "javascript:alert(1)" },
		"unsubscribe mailto with >":  func(m *Message) { m.UnsubscribeMailto = "a@b>, <https://evil" },
		"mailto without an HTTP URL": func(m *Message) { m.UnsubscribeURL = ""; m.UnsubscribeMailto = "u@example.com" },
	} {
		t.Run(name, func(t *testing.T) {
			m := baseMessage()
			mutate(&m)
			if raw, err := Build(m); err == nil {
				t.Errorf("Build accepted it:\n%s", raw)
			}
		})
	}
}

func TestBuildTrimsReferences(t *testing.T) {
	for _, n := range []int{1, 9, 10, 11, 15, 60} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var refs []string
			for i := 1; i <= n; i++ {
				refs = append(refs, fmt.Sprintf("<step%d@example.com>", i))
			}
			m := baseMessage()
			m.References = refs
			m.InReplyTo = refs[n-1]
			raw, err := Build(m)
			if err != nil {
				t.Fatal(err)
			}
			checkLines(t, raw)
			r, err := mail.CreateReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Header.MsgIDList("References")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"step1@example.com"}
			for i := max(2, n-8); i <= n; i++ {
				want = append(want, fmt.Sprintf("step%d@example.com", i))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("References = %v\nwant %v", got, want)
			}
		})
	}
}

func TestBuildNoUnsubscribe(t *testing.T) {
	m := baseMessage()
	m.UnsubscribeURL = ""
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	h, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if h.Header.Get("List-Unsubscribe") != "" || h.Header.Get("List-Unsubscribe-Post") != "" {
		t.Error("List-Unsubscribe headers without an unsubscribe URL")
	}
}

func TestNewMessageID(t *testing.T) {
	format := regexp.MustCompile(`^<[a-z2-7]{26}@example\.com>$`)
	seen := map[string]bool{}
	for range 10000 {
		id := NewMessageID("example.com")
		if !format.MatchString(id) {
			t.Fatalf("Message-ID %q does not match %s", id, format)
		}
		if seen[id] {
			t.Fatalf("Message-ID %q generated twice", id)
		}
		seen[id] = true
	}
	// It must survive a round trip through a header parser.
	m := baseMessage()
	m.MessageID = NewMessageID("example.com")
	raw, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mail.CreateReader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := r.Header.MessageID(); err != nil || "<"+id+">" != m.MessageID {
		t.Errorf("parsed Message-ID %q, %v; want %s", id, err, m.MessageID)
	}
	if id := NewMessageID("bad domain\r\n"); !strings.HasSuffix(id, "@localhost>") {
		t.Errorf("NewMessageID with a bad domain = %q, want @localhost", id)
	}
}
