package inbound

import (
	"strings"
	"testing"
	"time"
)

// Reference days the phrasings are read against.
var (
	rome   = mustZone("Europe/Rome")
	warsaw = mustZone("Europe/Warsaw")
	// Monday 3 August 2026, mid-morning in Rome: the Italian August.
	summer = time.Date(2026, 8, 3, 10, 0, 0, 0, rome)
	// Monday 28 December 2026: the return dates lie in next year.
	winter = time.Date(2026, 12, 28, 10, 0, 0, 0, warsaw)
	// Monday 1 February 2027: "Monday 8th" exists in this month.
	february = time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type returnCase struct {
	text string
	sent time.Time
	want string // YYYY-MM-DD of the first day back, "" for no deferral
}

var returnCases = map[string][]returnCase{
	"it": {
		{"Rientrerò il 12 gennaio", winter, "2027-01-12"},
		{"Sono assente fino al 15/08 con accesso limitato alla posta.", summer, "2026-08-16"},
		{"Sarò fuori ufficio dal 1 al 21 agosto.", summer, "2026-08-22"},
		{"Rientrerò in ufficio lunedì 24 agosto.", summer, "2026-08-24"},
		{"Sarò di nuovo in ufficio a partire dal 17.08.2026", summer, "2026-08-17"},
		{"Sono in ferie fino a venerdì 14 agosto compreso.", summer, "2026-08-15"},
		{"Rientro previsto: 18/08/2026.", summer, "2026-08-18"},
		{"Sono fuori sede, torno domani.", summer, "2026-08-04"},
		{"In ferie dal 10 al 14 agosto, rientro il 17 agosto.", summer, "2026-08-17"},
		{"Sono assente fino al 31 luglio.", summer, ""}, // stale: in the past
		{"Rientro: lunedì 24/08.", summer, "2026-08-24"},
		{"Ferie dal 3 al 14 agosto compresi.", summer, "2026-08-15"},
		{"Grazie per il messaggio, risponderò al più presto.", summer, ""},
		// A denied return makes "fino al" the day back; being away "fino al" stays the last day.
		{"Non rientrerò in ufficio fino al 20 agosto.", summer, "2026-08-20"},
		{"Non sarò in ufficio fino al 20 agosto.", summer, "2026-08-21"},
	},
	"pl": {
		{"Będę w biurze od 7 stycznia.", winter, "2027-01-07"},
		{"Jestem nieobecny do 15.08.2027", summer, "2027-08-16"},
		{"Jestem na urlopie do 14 sierpnia.", summer, "2026-08-15"},
		{"Wracam 17 sierpnia.", summer, "2026-08-17"},
		{"Powrót do biura: 17.08.2026", summer, "2026-08-17"},
		{"Przebywam na urlopie w dniach 3-14.08.2026.", summer, "2026-08-15"},
		{"Nie ma mnie w biurze do poniedziałku 10 sierpnia.", summer, "2026-08-11"},
		{"Będę dostępny ponownie od poniedziałku.", summer, "2026-08-10"},
		{"Wracam jutro.", summer, "2026-08-04"},
		{"Urlop do 20 lipca.", summer, ""}, // in the past
		{"Urlop: 03.08–14.08.", summer, "2026-08-15"},
		{"Jestem na urlopie od 3 do 14 sierpnia.", summer, "2026-08-15"},
		{"W dniach 30.07-17.08.2018 r. przebywam na urlopie.", time.Date(2018, 7, 30, 13, 33, 0, 0, warsaw), "2018-08-18"},
	},
	"en": {
		{"I am out of the office and will be back on Monday 8th.", february, "2027-02-08"},
		{"I'm out of the office until August 14.", summer, "2026-08-15"},
		{"I will be traveling for work on August 10-21.", summer, "2026-08-22"}, // a range: the last day away
		{"Office hours on August 10 - 10:30 only.", summer, ""},                 // a time, not a range
		{"I will return on 17 August 2026.", summer, "2026-08-17"},
		{"I am on vacation from August 3rd to August 14th, returning Monday, August 17th.", summer, "2026-08-17"},
		{"I'll be back in the office on 08/17/2026.", summer, "2026-08-17"},
		{"Back next week.", summer, "2026-08-10"},
		{"I am away until the 14th.", summer, "2026-08-15"},
		{"I'm out of office with limited access to email through Friday, August 14.", summer, "2026-08-15"},
		{"I will be back tomorrow.", summer, "2026-08-04"},
		{"I'm away for the holidays and will be back on January 4th.", winter, "2027-01-04"},
		{"I will get back to you after 15 August.", summer, "2026-08-16"},
		{"I was out until 1 August.", summer, ""}, // in the past
		{"I will be out of the office from Monday 3 August to Friday 14 August inclusive.", summer, "2026-08-15"},
		{"I am OOO until 8/14, back at 9:00 on the 17th.", summer, "2026-08-17"},
		{"Returning on the 17th.", summer, "2026-08-17"},
		{"Out of office until further notice.", summer, ""},
		{"I am on vacation until May 1.", summer, ""}, // stale: next May is too far to be meant
		// Lotus Notes: "will not return until D" is back on D.
		{"I will be out of the office starting  02/08/2002 and will not return until 06/08/2002.", time.Date(2002, 8, 2, 6, 27, 0, 0, time.FixedZone("", 3600)), "2002-08-06"},
		{"I will be out of the office starting 07/20/2002 and will not return until 07/29/2002.", time.Date(2002, 7, 24, 1, 1, 0, 0, time.FixedZone("", -4*3600)), "2002-07-29"},
		{"I won't be back until Monday, August 17.", summer, "2026-08-17"},
		{"I will not be in the office until 17 August.", summer, "2026-08-17"},
		{"I am not available before August 17.", summer, "2026-08-17"},
		// A weekday that is not the date's: a notice left on from another year.
		{"I am out of the office until Tuesday, January 20.", time.Date(2011, 9, 8, 22, 1, 0, 0, time.FixedZone("", 3600)), ""},
		{"I am out of the office until Friday, August 14.", summer, "2026-08-15"},
		{"I am out of the office until Thursday, August 14.", summer, ""},
		// "come back to you" promises an answer, not a return.
		{"I'm on vacation until November 4th 2013. I will come back to you begining of next week.", time.Date(2013, 11, 3, 8, 34, 0, 0, time.UTC), "2013-11-05"},
	},
	"de": {
		{"Ich bin bis einschließlich 12.01. abwesend.", winter, "2027-01-13"},
		{"Ich bin bis zum 14.08.2026 nicht im Büro.", summer, "2026-08-15"},
		{"Ab dem 17.08. bin ich wieder erreichbar.", summer, "2026-08-17"},
		{"Ich befinde mich vom 03.08. bis 14.08. im Urlaub.", summer, "2026-08-15"},
		{"Am Montag, den 17. August bin ich wieder im Büro.", summer, "2026-08-17"},
		{"Ich bin ab morgen wieder da.", summer, "2026-08-04"},
		{"Abwesend: 03.08.–14.08.2026", summer, "2026-08-15"},
		{"Zurück am 17. August.", summer, "2026-08-17"},
		{"Ich bin nächste Woche wieder im Büro.", summer, "2026-08-10"},
		{"Ich war bis 31.07. im Urlaub.", summer, ""}, // in the past
		{"Ich bin vom 3. bis 14. August nicht im Haus.", summer, "2026-08-15"},
		{"Ich bin bis 20.08. nicht im Büro.", summer, "2026-08-21"}, // "bis" includes its day
		{"Ich bin ab dem 17. August wieder für Sie da.", summer, "2026-08-17"},
	},
	"fr": {
		{"Je serai de retour le 24 août.", summer, "2026-08-24"},
		{"Je suis absent jusqu'au 14 août inclus.", summer, "2026-08-15"},
		{"Je suis en congés du 3 au 14 août.", summer, "2026-08-15"},
		{"Absente jusqu'au vendredi 14/08, je reviendrai le lundi 17/08.", summer, "2026-08-17"},
		{"Je reprendrai mon poste le 1er septembre.", summer, "2026-09-01"},
		{"De retour lundi.", summer, "2026-08-10"},
		{"Je serai de retour demain.", summer, "2026-08-04"},
		{"Je serai absent jusqu’au 3 janvier 2027.", winter, "2027-01-04"},
		{"Je serai de retour la semaine prochaine.", summer, "2026-08-10"},
		{"J'étais absent jusqu'au 2 août.", summer, ""}, // back today: nothing to defer
		{"Absent du 3 au 14/08.", summer, "2026-08-15"},
		{"Je ne serai pas de retour avant le 20 août.", summer, "2026-08-20"},
	},
	"es": {
		{"Estaré fuera de la oficina hasta el 14 de agosto.", summer, "2026-08-15"},
		{"Estaré de vuelta el 17 de agosto.", summer, "2026-08-17"},
		{"Me reincorporaré el lunes 17 de agosto de 2026.", summer, "2026-08-17"},
		{"Estoy de vacaciones del 3 al 14 de agosto.", summer, "2026-08-15"},
		{"Regreso el 17/08.", summer, "2026-08-17"},
		{"Volveré mañana.", summer, "2026-08-04"},
		{"Estaré ausente hasta el viernes.", summer, "2026-08-08"},
		{"Estaré de vuelta el 7 de enero.", winter, "2027-01-07"},
		{"Vuelvo la próxima semana.", summer, "2026-08-10"},
		{"Estuve fuera hasta el 30 de julio.", summer, ""}, // in the past
		{"De vacaciones del 3 al 14 de agosto, ambos incluidos.", summer, "2026-08-15"},
		{"No estaré de vuelta hasta el 20 de agosto.", summer, "2026-08-20"},
	},
}

func TestReturnDatePhrasings(t *testing.T) {
	for lang, cases := range returnCases {
		if len(cases) < 8 {
			t.Errorf("%s: only %d phrasings", lang, len(cases))
		}
		for _, c := range cases {
			at, text, ok := ReturnDate(c.text, c.sent, c.sent.Location())
			got := ""
			if ok {
				got = at.Format("2006-01-02")
				if h, m, _ := at.Clock(); h != 0 || m != 0 || at.Location() != c.sent.Location() {
					t.Errorf("%s %q: return %v is not midnight in %v", lang, c.text, at, c.sent.Location())
				}
				if text == "" {
					t.Errorf("%s %q: no source text", lang, c.text)
				}
			}
			if got != c.want {
				t.Errorf("%s %q (sent %s): got %q (from %q), want %q", lang, c.text, c.sent.Format("2006-01-02"), got, text, c.want)
			}
		}
	}
}

// The day of the message is the day in the prospect's zone: a Sunday-night
// message in UTC is already Monday in Rome, and "tomorrow" is Tuesday.
func TestReturnDateReadsTheProspectsZone(t *testing.T) {
	sent := time.Date(2026, 8, 2, 23, 30, 0, 0, time.UTC)
	at, _, ok := ReturnDate("Sono fuori ufficio, torno domani.", sent, rome)
	if !ok || at.Format("2006-01-02") != "2026-08-04" || at.Location() != rome {
		t.Errorf("in Rome: got %v %v, want 2026-08-04 midnight Rome", at, ok)
	}
	at, _, ok = ReturnDate("Sono fuori ufficio, torno domani.", sent, time.UTC)
	if !ok || at.Format("2006-01-02") != "2026-08-03" {
		t.Errorf("in UTC: got %v %v, want 2026-08-03", at, ok)
	}
}

// The sentence the date came from is returned as written (for the
// timeline), and an explicit return beats an "until" in another sentence.
func TestReturnDateSourceText(t *testing.T) {
	text := "Thank you for your message.\n\nI am out of the office until Friday, August 14.\nI will be back in the office on Monday, August 17. For urgent matters call the desk."
	at, src, ok := ReturnDate(text, summer, rome)
	if !ok || at.Format("2006-01-02") != "2026-08-17" {
		t.Fatalf("got %v %v", at, ok)
	}
	if want := "I will be back in the office on Monday, August 17."; src != want {
		t.Errorf("source %q, want %q", src, want)
	}
}

func TestReturnDateIgnoresNumbersThatAreNotDates(t *testing.T) {
	for _, text := range []string{
		"Back at 12:30, call +49 361 1111 2222 or 0221-12-34.",
		"Version 2.14.08 released; I will return to this.",
		"Sent: Monday, 3 August 2026 09:14",
		"Our office hours are Monday to Friday, 9:00-17:00.",
		"Orari di apertura: da lunedì a venerdì.",
		"Unser Büro ist von Montag bis Freitag besetzt.",
		"",
	} {
		if at, src, ok := ReturnDate(text, summer, rome); ok {
			t.Errorf("%q: got %v from %q, want none", text, at, src)
		}
	}
	if _, _, ok := ReturnDate("back on 17 August", time.Time{}, rome); ok {
		t.Error("no Date: want none")
	}
}

// An ambiguous 05/07 is day first, except in an English message whose Date
// header comes from the Americas (a US out-of-office means 7 May).
func TestReturnDateMonthFirstFromTheAmericas(t *testing.T) {
	newYork := mustZone("America/New_York")
	text := "I am away until 05/07/2026 and unable to read your message."
	if at, _, ok := ReturnDate(text, time.Date(2026, 7, 1, 9, 0, 0, 0, rome), rome); !ok || at.Format("2006-01-02") != "2026-07-06" {
		t.Errorf("from Rome: got %v %v, want 2026-07-06 (until 5 July)", at, ok)
	}
	if at, _, ok := ReturnDate(text, time.Date(2026, 5, 1, 9, 0, 0, 0, newYork), newYork); !ok || at.Format("2006-01-02") != "2026-05-08" {
		t.Errorf("from New York: got %v %v, want 2026-05-08 (until 7 May)", at, ok)
	}
	if at, _, ok := ReturnDate("Estaré fuera hasta el 05/07/2026.", time.Date(2026, 7, 1, 9, 0, 0, 0, mustZone("America/Mexico_City")), nil); !ok || at.Format("2006-01-02") != "2026-07-06" {
		t.Errorf("Spanish from Mexico: got %v %v, want 2026-07-06 (day first)", at, ok)
	}
}

// BenchmarkReturnDate: a typical bilingual out-of-office, and a long
// message (500 lines of text) to bound the worst case.
func BenchmarkReturnDate(b *testing.B) {
	typical := "Vielen Dank für Ihre Nachricht.\nIch bin vom 03.08. bis 14.08.2026 im Urlaub und ab dem 17.08. wieder im Büro.\n\n" +
		"Thank you for your message. I am out of the office until Friday, August 14 and will be back on Monday, August 17.\n\n" +
		"Mit freundlichen Grüßen\nHannah Möller\nTel. +49 361 1111 2222"
	long := strings.Repeat("Please find the figures for 2025 attached, 12.5% up on the 3 sites; call 0221 123 456 on Monday.\n", 500)
	for _, c := range []struct{ name, text string }{{"typical", typical}, {"long", long}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				ReturnDate(c.text, summer, rome)
			}
		})
	}
}

// Classify reads the return date from an HTML-only Outlook auto-reply,
// not from the quoted original's dates, and leaves Left unset.
func TestClassifyReadsReturnDateFromHTML(t *testing.T) {
	raw := "From: Giulia Bianchi <giulia@officine.example>\r\n" +
		"To: Maria Rossi <maria.rossi@drip.example>\r\n" +
		"Subject: Risposta automatica: Preventivo\r\n" +
		"Date: Mon, 03 Aug 2026 09:20:11 +0200\r\n" +
		"Auto-Submitted: auto-replied\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><body><p>Buongiorno,</p><p>sono assente fino al 21/08 con accesso limitato alla posta.</p>" +
		"<div id=\"divRplyFwdMsg\"><b>Da:</b> Maria Rossi<br><b>Inviato:</b> lunedì 3 agosto 2026 09:14<br>" +
		"Rientro dalla fiera il 31/08, la richiamo.</div></body></html>\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	res := Classify(m, []string{"maria.rossi@drip.example"})
	if res.Kind != AutoReply || res.Return.Format("2006-01-02") != "2026-08-22" || res.Left {
		t.Fatalf("kind %s return %v left %v (%q)", res.Kind, res.Return, res.Left, res.ReturnText)
	}
	if want := "sono assente fino al 21/08 con accesso limitato alla posta."; res.ReturnText != want {
		t.Errorf("ReturnText %q, want %q", res.ReturnText, want)
	}
	at, _, ok := ReturnDateOf(m, mustZone("America/New_York"))
	if !ok || at.Format("2006-01-02 15:04 MST") != "2026-08-22 00:00 EDT" {
		t.Errorf("ReturnDateOf in New York: %v %v", at, ok)
	}
}

// A reply from a person that mentions a date is not read for one.
func TestClassifyReadsNoReturnDateFromAPerson(t *testing.T) {
	raw := "From: Giulia Bianchi <giulia@officine.example>\r\nTo: maria.rossi@drip.example\r\n" +
		"Subject: Re: Preventivo\r\nDate: Mon, 03 Aug 2026 09:20:11 +0200\r\n\r\n" +
		"Sono in ferie fino al 21/08, ne parliamo al rientro.\r\n"
	m, _ := Parse([]byte(raw))
	if res := Classify(m, nil); res.Kind != Reply || !res.Return.IsZero() || res.Left {
		t.Errorf("kind %s return %v left %v", res.Kind, res.Return, res.Left)
	}
}
