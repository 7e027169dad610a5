package inbound

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Our sender address and the Message-IDs of our sends in testdata/.
const (
	rep = "Maria Rossi <maria.rossi@ferrovalvole.example>"
	s1  = "<drip.s1.6f2c9a41b7e3@ferrovalvole.example>"
	s2  = "<drip.s2.0b9d71c4e5a8@ferrovalvole.example>"
	s3  = "<drip.s3.c41e07d2f9b5@ferrovalvole.example>"
)

func parseFile(t *testing.T, name string) *Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return m
}

func TestClassifySamples(t *testing.T) {
	tests := []struct {
		file       string
		kind       Kind
		ids        []string // the leading candidates, in order
		addresses  []string
		status     string
		recipients []Recipient // checked when non-nil
		detail     string      // substring of Detail
	}{
		// Replies: the quoted original carries our unsubscribe line and "STOP".
		{file: "reply_gmail.eml", kind: Reply, ids: []string{s2, s1}, addresses: []string{"john.carter@northwind.example"}},
		{file: "reply_outlook.eml", kind: Reply, ids: []string{s1}, addresses: []string{"anna.schmidt@kessler-bau.example"}},
		{file: "reply_apple.eml", kind: Reply, ids: []string{s2, s1}, addresses: []string{"tom.baker@harbourline.example"}},
		{file: "reply_italian.eml", kind: Reply, ids: []string{s1}, addresses: []string{"giulia.bianchi@officinebianchi.example"}},
		{file: "reply_polish_iso88592.eml", kind: Reply, ids: []string{s1}, addresses: []string{"piotr.nowak@stalmet.example"}},

		// Auto-replies.
		{file: "autoreply_exchange.eml", kind: AutoReply, ids: []string{s1}, addresses: []string{"lukas.meier@rheintal-chemie.example"}, detail: "automatic reply"},
		{file: "autoreply_gmail_vacation.eml", kind: AutoReply, ids: []string{s3, s1}, addresses: []string{"tom.baker@harbourline.example"}, detail: "Auto-Submitted: auto-replied"},
		{file: "autoreply_italian.eml", kind: AutoReply, addresses: []string{"giulia.bianchi@officinebianchi.example"}, detail: "risposta automatica"},

		// Delivery status notifications.
		{file: "dsn_postfix_511.eml", kind: Bounce, ids: []string{s3, s2, s1}, addresses: []string{"luca.verdi@acciaierie-nord.example"}, status: "5.1.1",
			recipients: []Recipient{{Address: "luca.verdi@acciaierie-nord.example", Kind: Bounce, Status: "5.1.1", Action: "failed"}},
			detail:     "5.1.1 bad destination mailbox address"},
		{file: "bounce_exim.eml", kind: Bounce, ids: []string{s2}, addresses: []string{"k.lewandowska@budmax.example"},
			recipients: []Recipient{{Address: "k.lewandowska@budmax.example", Kind: Bounce}}},
		{file: "dsn_gmail.eml", kind: Bounce, ids: []string{s3, s2, s1}, addresses: []string{"sophie.martin@lumiere-industrie.example"}, status: "5.1.1"},
		{file: "dsn_delayed_447.eml", kind: Delayed, ids: []string{s3, s2, s1}, addresses: []string{"f.galli@galli-impianti.example"}, status: "4.4.7",
			recipients: []Recipient{{Address: "f.galli@galli-impianti.example", Kind: Delayed, Status: "4.4.7", Action: "delayed"}},
			detail:     "4.4.7 delivery time expired"},
		{file: "dsn_two_recipients.eml", kind: Bounce, ids: []string{s3, s2, s1}, addresses: []string{"old.buyer@nordstahl.example", "einkauf@nordstahl.example"}, status: "5.1.1",
			recipients: []Recipient{
				{Address: "old.buyer@nordstahl.example", Kind: Bounce, Status: "5.1.1", Action: "failed"},
				{Address: "einkauf@nordstahl.example", Kind: Delayed, Status: "4.2.2", Action: "delayed"},
			},
			detail: "2 recipients"},

		// Stop requests.
		{file: "stop_english.eml", kind: Unsubscribe, ids: []string{s2, s1}, addresses: []string{"d.clarke@thamesflow.example"}, detail: `"remove me"`},
		{file: "stop_italian.eml", kind: Unsubscribe, ids: []string{s1}, addresses: []string{"marco.conti@conti-idraulica.example"}, detail: `"non contattarmi"`},
		{file: "stop_italian_html.eml", kind: Unsubscribe, ids: []string{s1}, addresses: []string{"elena.ferri@ferri-pompe.example"}, detail: `"cancellami"`},
		{file: "stop_polish.eml", kind: Unsubscribe, ids: []string{s1}, addresses: []string{"k.wojcik@budmax.example"}, detail: `"wypisac"`},

		// False-positive guards: "stop" that is not a request.
		{file: "fp_stop_by.eml", kind: Reply, ids: []string{s1}, addresses: []string{"mark.jensen@nordic-pumps.example"}},
		{file: "fp_nonstop.eml", kind: Reply, ids: []string{s1}, addresses: []string{"sara.lindqvist@vasa-paper.example"}},

		// Our own copy, whatever it says and however the address is spelt.
		{file: "own_sent_copy.eml", kind: Own, detail: "own address"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := parseFile(t, tt.file)
			res := Classify(m, []string{rep, "backup@ferrovalvole.example"})
			if res.Kind != tt.kind {
				t.Fatalf("Kind = %s (%s), want %s", res.Kind, res.Detail, tt.kind)
			}
			if len(res.MessageIDs) < len(tt.ids) || !reflect.DeepEqual(res.MessageIDs[:len(tt.ids)], tt.ids) {
				t.Errorf("MessageIDs = %v, want them to start with %v", res.MessageIDs, tt.ids)
			}
			if !reflect.DeepEqual(res.Addresses, tt.addresses) {
				t.Errorf("Addresses = %v, want %v", res.Addresses, tt.addresses)
			}
			if res.Status != tt.status {
				t.Errorf("Status = %q, want %q", res.Status, tt.status)
			}
			if tt.recipients != nil && !reflect.DeepEqual(res.Recipients, tt.recipients) {
				t.Errorf("Recipients = %+v, want %+v", res.Recipients, tt.recipients)
			}
			if !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("Detail = %q, want it to contain %q", res.Detail, tt.detail)
			}
			if res.Key == "" || res.Key != m.Key {
				t.Errorf("Key = %q, Message.Key = %q", res.Key, m.Key)
			}
			if tt.kind == Reply || tt.kind == AutoReply || tt.kind == Unsubscribe {
				for _, id := range res.MessageIDs {
					if id == m.MessageID {
						t.Errorf("MessageIDs include the message's own id %s", id)
					}
				}
			}
		})
	}
}

func TestParseDecodesCharsetsAndEncodedWords(t *testing.T) {
	m := parseFile(t, "reply_polish_iso88592.eml")
	if want := "Re: Oferta zaworów kulowych, spotkanie w piątek"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	for _, want := range []string{"Dzień dobry", "dziękuję za wiadomość", "Dział zakupów"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("Text lacks %q:\n%s", want, m.Text)
		}
	}
	if got := newText(m); strings.Contains(got, "STOP") || strings.Contains(got, "wypisać") {
		t.Errorf("new text keeps the quoted original: %q", got)
	}

	m = parseFile(t, "stop_polish.eml")
	if m.FromName != "Katarzyna Wójcik" {
		t.Errorf("FromName = %q", m.FromName)
	}
	if !strings.Contains(m.Text, "Proszę mnie wypisać z listy.") {
		t.Errorf("Text = %q", m.Text)
	}

	m = parseFile(t, "autoreply_italian.eml")
	if want := "Risposta automatica: Valvole a sfera per il nuovo impianto"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
}

func TestNewTextStripsQuotes(t *testing.T) {
	tests := []struct{ file, want string }{
		{"reply_gmail.eml", "Hi Maria,\n\nThanks for following up. We're reviewing suppliers for Q1 - could you send\nthe datasheet for the DN50 series and a price for 200 units?\n\nBest,\nJohn"},
		{"reply_outlook.eml", "Hello Maria,\n\nWednesday at 10:00 works for me. Please send an invite.\n\nKind regards\nAnna Schmidt\nHead of Procurement | Kessler Bau GmbH"},
		{"reply_apple.eml", "Thanks Maria – Tuesday at 15:00 works. Could you bring the pressure test certificates?\n\nTom"},
		{"reply_italian.eml", "Sì, sentiamoci giovedì. Alle 11 va bene?\n\nGiulia Bianchi\nUfficio acquisti - Officine Meccaniche Bianchi"},
		{"stop_italian_html.eml", "Cancellami, grazie"},
		{"fp_nonstop.eml", "Our paper machines run non-stop, so any valve swap has to wait for the\nplanned shutdown in March. Can we talk in January?\n\nSara"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := newText(parseFile(t, tt.file)); got != tt.want {
				t.Errorf("newText =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestStopRule(t *testing.T) {
	tests := []struct {
		subject, body string
		want          string // phrase, "" = not a stop request
	}{
		{"Re: Offer", "STOP", "stop"},
		{"Re: Offer", "Stop.\n\nJohn", "stop"},
		{"Re: Offer", "Hi Maria, please stop emailing me.", "stop emailing"},
		{"Re: Offer", "Please stop, thanks", "stop"},
		{"Re: Offer", "Please remove me from your list", "remove me"},
		{"Re: Offerta", "Cancellami, grazie", "cancellami"},
		{"Re: Offerta", "Non scrivermi più per favore.", "non scrivermi"},
		{"Re: Oferta", "Proszę nie pisać do mnie więcej.", "nie pisac"},
		{"AW: Angebot", "Bitte melden Sie mich ab. Bitte austragen.", "austragen"},
		{"RE: Offre", "Merci de me désinscrire.", "desinscrire"},
		{"RE: Oferta", "Quiero darme de baja.", "darme de baja"},
		{"Unsubscribe", "", "unsubscribe"},
		{"Remove me", "Sent from my phone", "remove me"},

		{"Re: Offer", "I'll stop by your booth next week.", ""},
		{"Re: Offer", "Our lines run non-stop.", ""},
		{"Re: Offer", "I can't stop thinking about your demo!", ""},
		{"Re: Offer", "Meet me at the bus stop.", ""},
		{"Re: Offer", "Let's talk. https://example.com/unsubscribe?id=42 is broken btw", ""},
		{"Re: Offer", "Write to unsubscribe@example.com? No, just call me.", ""},
		{"Re: Stop by our stand", "Great, see you there.", ""},
		{"Re: Offer", "Thanks Maria. " + strings.Repeat("We are evaluating several suppliers this quarter. ", 8) +
			"By the way, your unsubscribe link looks broken.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.subject+"/"+tt.body, func(t *testing.T) {
			raw := "From: p@example.com\nSubject: " + tt.subject + "\nContent-Type: text/plain; charset=utf-8\n\n" + tt.body + "\n"
			m, err := Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := stopRequest(m)
			if got != tt.want {
				t.Errorf("stop phrase = %q, want %q", got, tt.want)
			}
			wantKind := Reply
			if tt.want != "" {
				wantKind = Unsubscribe
			}
			if k := Classify(m, []string{rep}).Kind; k != wantKind {
				t.Errorf("Kind = %s, want %s", k, wantKind)
			}
		})
	}
}

func TestClassifyUnknownAndOwn(t *testing.T) {
	tests := []struct {
		name, raw string
		own       []string
		want      Kind
	}{
		{"newsletter", "From: news@vendor.example\nList-Id: <news.vendor.example>\nPrecedence: bulk\nSubject: December news\n\nOur news.\n", nil, Unknown},
		{"no sender, no references", "Subject: hello\n\nwho am I\n", nil, Unknown},
		{"list reply that references us is a reply", "From: p@example.com\nList-Id: <l.example>\nIn-Reply-To: " + s1 + "\n\nYes.\n", nil, Reply},
		{"own address in any case", "From: MARIA.ROSSI@ferrovalvole.example\nSubject: STOP\n\nSTOP\n", []string{rep}, Own},
		{"own list given bare", "From: Backup <backup@ferrovalvole.example>\n\nhi\n", []string{"backup@ferrovalvole.example"}, Own},
		{"not own: similar address", "From: maria.rossi@ferrovalvole.example.evil\n\nhi\n", []string{rep}, Reply},
		{"no header at all", "just some text without a header\n", nil, Unknown},
		// An acknowledgement with Precedence: bulk, answering our step,
		// is an auto-reply, not a person (BounceParser's autoreply.msg).
		{"bulk acknowledgement", "From: John Smith <john@a.example>\nPrecedence: bulk\nIn-Reply-To: " + s1 + "\nSubject: Thank you for your e-mail\n\nThank you for you e-mail.\nI will endeavour to reply as soon as possible.\n", nil, AutoReply},
		{"bulk acknowledgement in the text", "From: John Smith <john@a.example>\nPrecedence: junk\nIn-Reply-To: " + s1 + "\nSubject: Re: our offer\n\nThank you for your email, we will reply within two days.\n", nil, AutoReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(m, tt.own); got.Kind != tt.want {
				t.Errorf("Kind = %s (%s), want %s", got.Kind, got.Detail, tt.want)
			}
		})
	}
	if got := Classify(nil, nil); got.Kind != Unknown {
		t.Errorf("Classify(nil) = %s", got.Kind)
	}
}

func TestParseIsLenient(t *testing.T) {
	if _, err := Parse(nil); err == nil {
		t.Error("Parse(nil) succeeded")
	}
	if _, err := Parse([]byte(" \r\n\t\n")); err == nil {
		t.Error("Parse(blank) succeeded")
	}

	// A junk line inside the header, a leading mbox line, a folded subject,
	// a Content-Type whose parameters do not parse.
	raw := "From someone@example.com Mon Dec  7 10:00:00 2026\n" +
		"From: Ada <ada@example.com>\n" +
		"this line is not a header field\n" +
		"Subject: a long\n  folded subject\n" +
		"Message-Id: bare-id@example.com\n" +
		"Content-Type: text/plain; charset=utf-8; junk\n" +
		"\n" +
		"Hello\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "ada@example.com" || m.Subject != "a long folded subject" || m.MessageID != "<bare-id@example.com>" {
		t.Errorf("From=%q Subject=%q MessageID=%q", m.From, m.Subject, m.MessageID)
	}
	if strings.TrimSpace(m.Text) != "Hello" {
		t.Errorf("Text = %q", m.Text)
	}

	// A multipart whose closing boundary never comes still yields its text.
	raw = "From: b@example.com\nContent-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\nunsubscribe\n"
	m, err = Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := Classify(m, nil); got.Kind != Unsubscribe {
		t.Errorf("truncated multipart: Kind = %s (%s), Text = %q", got.Kind, got.Detail, m.Text)
	}
}

func TestKeyWithoutMessageID(t *testing.T) {
	raw := "From: a@example.com\nDate: Tue, 1 Dec 2026 10:00:00 +0000\nSubject: hi\n\nbody\n"
	a, _ := Parse([]byte(raw))
	b, _ := Parse([]byte(raw))
	c, _ := Parse([]byte(strings.Replace(raw, "Subject: hi", "Subject: ho", 1)))
	if !strings.HasPrefix(a.Key, "sha256:") || a.Key != b.Key {
		t.Errorf("keys %q and %q: want one stable sha256 key", a.Key, b.Key)
	}
	if a.Key == c.Key {
		t.Error("different subjects gave the same key")
	}
	if m := parseFile(t, "reply_gmail.eml"); m.Key != m.MessageID {
		t.Errorf("Key = %q, want the Message-ID %q", m.Key, m.MessageID)
	}
}

func TestBounceDetailHasNoPersonalData(t *testing.T) {
	for _, f := range []string{"dsn_postfix_511.eml", "bounce_exim.eml", "dsn_gmail.eml", "dsn_delayed_447.eml", "dsn_two_recipients.eml"} {
		res := Classify(parseFile(t, f), []string{rep})
		if strings.Contains(res.Detail, "@") || len(res.Detail) > 120 {
			t.Errorf("%s: Detail %q carries an address or is long", f, res.Detail)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b>", []string{"<a@b>"}},
		{" <a@b>  <c@d>\r\n\t<e@f> ", []string{"<a@b>", "<c@d>", "<e@f>"}},
		{"<a@b> (comment) <a@b>", []string{"<a@b>"}},
		{"<a@b\r\n c>", []string{"<a@bc>"}},
		{"<junk <a@b>", []string{"<a@b>"}},
		{"<a@b", []string{"<a@b>"}},
		{"<>", nil},
		{"a@b, c@d", []string{"<a@b>", "<c@d>"}},
		{"no id here", nil},
		{"", nil},
		{"<<<>>>", nil},
		{"0>@0", nil}, // found by FuzzMessageIDs
	}
	for _, tt := range tests {
		if got := MessageIDs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MessageIDs(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := MessageIDs(strings.Repeat("<x@y> <z@w> ", 10) + strings.Repeat("<id", 1000)); len(got) > maxIDs {
		t.Errorf("%d ids, want at most %d", len(got), maxIDs)
	}
}

func TestEnhancedCodes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"550 5.1.1 <a@b.c>... User unknown", []string{"5.1.1"}},
		{"(#5.5.0)", []string{"5.5.0"}},
		{"host 10.5.1.1 said", nil},
		{"Exim 4.92.3 and Internet Mail Service (5.5.2657.72)", nil},
		{"ERROR_CODE :5.1.1 <x>", []string{"5.1.1"}},
		{"Status: 4.4.7.", []string{"4.4.7"}},
	}
	for _, tt := range tests {
		if got := enhancedCodes(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("enhancedCodes(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestReportOutcomes: the per-recipient rules of a delivery-status report.
func TestReportOutcomes(t *testing.T) {
	tests := []struct {
		name, fields string
		kind         Kind
		status       string
	}{
		{"failed 5.x.x", "Action: failed\nStatus: 5.2.2", Bounce, "5.2.2"},
		{"a 4.x.x status wins over Action failed", "Action: failed\nStatus: 4.4.7", Delayed, "4.4.7"},
		{"delayed without status", "Action: delayed", Delayed, ""},
		{"failed without status", "Action: failed", Bounce, ""},
		{"status only in Diagnostic-Code", "Action: failed\nDiagnostic-Code: smtp; 550 5.7.1 relaying denied", Bounce, "5.7.1"},
		{"Diagnostic-Code wrapped without indent", "Diagnostic-Code: smtp; 550-Please turn on\n550 5.7.1 relay\nAction: failed\nStatus: 5.0.0", Bounce, "5.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: MAILER-DAEMON@mx.example.net\nSubject: Delivery Status Notification\n" +
				"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n" +
				"--B\nContent-Type: text/plain\n\nSomething happened.\n" +
				"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n" +
				"Final-Recipient: rfc822; Buyer@Example.COM\n" + tt.fields + "\n" +
				"--B--\n"
			m, err := Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			res := Classify(m, nil)
			if res.Kind != tt.kind || res.Status != tt.status {
				t.Errorf("Kind %s Status %q, want %s %q (%s)", res.Kind, res.Status, tt.kind, tt.status, res.Detail)
			}
			if want := []string{"buyer@example.com"}; !reflect.DeepEqual(res.Addresses, want) {
				t.Errorf("Addresses = %v, want %v", res.Addresses, want)
			}
		})
	}

	// A successful recipient in a report is not a failed one.
	raw := "From: MAILER-DAEMON@mx.example.net\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n" +
		"--B\nContent-Type: message/delivery-status\n\n" +
		"Final-Recipient: rfc822; ok@example.com\nAction: delivered\nStatus: 2.0.0\n\n" +
		"Final-Recipient: rfc822; gone@example.com\nAction: failed\nStatus: 5.1.1\n--B--\n"
	m, _ := Parse([]byte(raw))
	if res := Classify(m, nil); !reflect.DeepEqual(res.Addresses, []string{"gone@example.com"}) {
		t.Errorf("Addresses = %v, want only the failed one", res.Addresses)
	}
}

// TestShortReplyQuotingOurStopLine: a reply short enough that our own
// quoted footer would make it a stop request if quotes were not stripped.
func TestShortReplyQuotingOurStopLine(t *testing.T) {
	bodies := []string{
		"Thanks, call me Monday.\n\nOn Tue, 1 Dec 2026 at 10:30, Maria <maria.rossi@ferrovalvole.example> wrote:\n> Reply STOP to opt out.\n",
		"Thanks, call me Monday.\n\n-----Original Message-----\nFrom: Maria\nSent: Tuesday\nReply STOP to opt out.\n",
		"Thanks, call me Monday.\n\nFrom: Maria Rossi <maria.rossi@ferrovalvole.example>\nSent: Tuesday, December 1, 2026 10:30\nTo: Paul\nSubject: Offer\n\nUnsubscribe: reply STOP.\n",
		"Thanks, call me Monday.\n\nW dniu 1.12.2026 o 10:30, Maria Rossi <maria.rossi@ferrovalvole.example> napisał(a):\n\nJeśli nie chce Pan wiadomości, proszę odpisać STOP lub wypisać się.\n",
		"Grazie, sentiamoci lunedì.\n\nIl giorno mar 1 dic 2026 alle ore 10:30 Maria Rossi <\nmaria.rossi@ferrovalvole.example> ha scritto:\n\nPer non ricevere altre email risponda STOP: cancellami.\n",
	}
	for _, body := range bodies {
		m, err := Parse([]byte("From: Paul <paul@example.com>\nSubject: Re: Offer\nIn-Reply-To: " + s1 + "\nContent-Type: text/plain; charset=utf-8\n\n" + body))
		if err != nil {
			t.Fatal(err)
		}
		if res := Classify(m, []string{rep}); res.Kind != Reply {
			t.Errorf("Kind = %s (%s) for %q", res.Kind, res.Detail, body)
		}
	}
}

// An auto-reply whose headers say nothing (a list archive, a server that
// drops them) is still one when its own text says so or is Lotus Notes'
// out-of-office text; a person who mentions an automatic reply, quotes one
// or asks to stop through Gmail's one-click unsubscribe is not.
func TestAutoReplyByItsOwnText(t *testing.T) {
	msg := func(extra, subject, body string) *Message {
		t.Helper()
		raw := "From: Judy Craig <judy.craig@school.example>\r\nTo: " + rep + "\r\nSubject: " + subject +
			"\r\nDate: Sun, 02 Aug 2015 19:50:16 -0600\r\nMessage-ID: <x1@school.example>\r\n" + extra +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
		m, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name   string
		m      *Message
		kind   Kind
		detail string
	}{
		{"says it is automatic", msg("", "Re: Twisted 15.3.0pre2",
			"This is an automatic reply. I am away from the office for the summer, returning on Tuesday, August 25, 2015."),
			AutoReply, "text: this is an automatic reply"},
		{"says it in Polish", msg("", "Re: oferta", "To jest automatyczna odpowiedź. Jestem na urlopie do 14 sierpnia."),
			AutoReply, "text: to jest automatyczna odpowiedz"},
		{"Lotus Notes", msg("", "Re: offer", "I will be out of the office starting  02/08/2002 and will not return until\r\n06/08/2002.\r\n"),
			AutoReply, "Lotus Notes"},
		{"OVH autoresponder", msg("Delivered-To: Autoresponder\r\n", "Re: Votre approbation", "Hello\r\n\r\nI'm on vacation until November 4th 2013."),
			AutoReply, "Delivered-To: Autoresponder"},
		{"a person mentions an automatic reply", msg("", "Re: offerta",
			"Scusate la risposta automatica di ieri: sono rientrato, l'offerta mi interessa."), Reply, ""},
		{"a person quotes an automatic reply", msg("", "Re: offer",
			"Sorry about that, I am back now.\r\n\r\n> This is an automatic reply. I am away until Monday.\r\n"), Reply, ""},
		{"Gmail one-click unsubscribe", msg("", "Unsubscribe", "This message was automatically generated by Gmail.\r\n"),
			Unsubscribe, ""},
	}
	for _, tt := range tests {
		res := Classify(tt.m, []string{rep})
		if res.Kind != tt.kind || !strings.Contains(res.Detail, tt.detail) {
			t.Errorf("%s: got %s (%q), want %s (%q)", tt.name, res.Kind, res.Detail, tt.kind, tt.detail)
		}
	}
	if res := Classify(tests[0].m, []string{rep}); res.Return.Format("2006-01-02") != "2015-08-25" {
		t.Errorf("return read from the text: got %v, want 2015-08-25", res.Return)
	}
}

// Lotus Notes lets people write their own out-of-office subject, and some
// write "has left" for a trip (the R mailing lists' archive holds "AUTO: …
// has left RSA (returning 30/11/2012)" whose body the archive scrubbed): a
// return date means away, never gone.
func TestHasLeftWithAReturnIsAway(t *testing.T) {
	raw := "From: Maria Rossi <maria.rossi@acme.example>\r\nTo: " + rep + "\r\n" +
		"Subject: AUTO: Maria Rossi has left ACME (returning 30/11/2026)\r\n" +
		"Date: Thu, 12 Nov 2026 16:02:13 +0000\r\nAuto-Submitted: auto-generated\r\n\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	res := Classify(m, []string{rep})
	if res.Kind != AutoReply || res.Left || res.Return.Format("2006-01-02") != "2026-11-30" {
		t.Errorf("got kind %s, left %v, return %v; want an auto-reply back 2026-11-30, not left", res.Kind, res.Left, res.Return)
	}
}

// An autoresponder that sends no Date: the topmost Received stamp places
// the message in time, so "until Friday" still means the Friday after it.
func TestNoDateReadsTheReceivedStamp(t *testing.T) {
	raw := "Received: from mx.acme.example by mail.drip.example with ESMTP id 1R0pfT;\r\n" +
		"\tTue, 06 Sep 2011 08:01:59 +0100 (BST)\r\n" +
		"Received: from inner.acme.example by mx.acme.example; Tue, 06 Sep 2011 09:01:48 +0200\r\n" +
		"From: Anna Weber <anna.weber@acme.example>\r\nTo: " + rep + "\r\n" +
		"Subject: Out of Office: offer\r\nAuto-Submitted: auto-replied\r\n\r\n" +
		"I am out of the office until Friday.\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Date.UTC().Format(time.RFC3339); got != "2011-09-06T07:01:59Z" {
		t.Errorf("Date = %s, want the topmost Received stamp 2011-09-06T07:01:59Z", got)
	}
	if res := Classify(m, []string{rep}); res.Return.Format("2006-01-02") != "2011-09-10" {
		t.Errorf("return = %v, want 2011-09-10 (the day after Friday 9 September)", res.Return)
	}
	noStamp, _ := Parse([]byte("From: a@acme.example\r\nReceived: by mx.acme.example\r\nSubject: Auto: x\r\n\r\nuntil Friday\r\n"))
	if !noStamp.Date.IsZero() {
		t.Errorf("no Date and no Received stamp: Date = %v, want zero", noStamp.Date)
	}
}
