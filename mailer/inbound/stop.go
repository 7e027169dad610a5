package inbound

import (
	"regexp"
	"strings"
)

// maxStopWords: a stop request is short. Longer messages stay replies (see
// the package comment for why that is the safe side).
const maxStopWords = 50

// maxNewTextLines: what a person writes above the quote is at the top;
// reading further only costs time on huge messages.
const maxNewTextLines = 500

// stopPhrases, folded (lower case, no diacritics), matched as whole words.
// The bare word "stop" is not here: stopCommandRE handles it.
var stopPhrases = []string{
	// English
	"unsubscribe", "unsubscribe me", "unsubscribed", "remove me", "remove my email", "remove my address",
	"remove us", "take me off", "take us off", "opt out", "opt-out", "optout", "do not contact",
	"don't contact", "dont contact", "do not email", "don't email", "dont email", "do not e-mail",
	"don't e-mail", "no more emails", "no more e-mails", "stop emailing", "stop e-mailing", "stop sending",
	"stop contacting", "stop writing", "stop mailing", "stop messaging", "stop spamming",
	// Italian
	"cancellami", "cancellatemi", "cancellarmi", "disiscrivi", "disiscrivimi", "disiscrivetemi",
	"disiscrivermi", "rimuovimi", "rimuovetemi", "rimuovermi", "toglietemi", "toglimi",
	"non contattarmi", "non contattatemi", "non scrivermi", "non scrivetemi", "non mandatemi",
	"non inviatemi", "basta email", "basta e-mail", "basta mail", "basta messaggi",
	// Polish
	"wypisz", "wypiszcie", "wypisac", "wypisanie", "wypisania", "usun mnie", "usuncie mnie",
	"usunac mnie", "nie piszcie", "nie pisac", "nie kontaktowac", "nie kontaktujcie",
	// German
	"abmelden", "austragen", "abbestellen", "keine e-mails mehr", "keine emails mehr", "keine mails mehr",
	"nicht mehr kontaktieren", "nicht mehr anschreiben",
	// French
	"desabonner", "desabonnez", "desabonnement", "desinscrire", "desinscrivez", "desinscription",
	"ne plus recevoir", "retirez-moi", "ne me contactez plus",
	// Spanish
	"darme de baja", "dar de baja", "denme de baja", "no me contacten", "no me escriban", "eliminarme de",
}

var (
	stopPhraseRE = func() *regexp.Regexp {
		quoted := make([]string, len(stopPhrases))
		for i, p := range stopPhrases {
			quoted[i] = regexp.QuoteMeta(p)
		}
		return regexp.MustCompile(`(?:^|[^\pL\pN])(` + strings.Join(quoted, "|") + `)(?:$|[^\pL\pN])`)
	}()
	// stopCommandRE: "stop" as a command opening a sentence, optionally
	// softened, and ending it: "STOP", "Please stop.", "Hi, stop it please".
	stopCommandRE = regexp.MustCompile(`(?:^|[.!?,;:\n])\s*(?:(?:please|pls|plz|kindly|just|so|ok|okay)\s+)*(stop)(?:\s+(?:please|now|it|this|immediately|asap|thanks|thank you|grazie|dziekuje|danke|merci|gracias))*\s*(?:[.!?,;\n]|$)`)

	urlRE          = regexp.MustCompile(`(?i)(?:https?://|www\.|mailto:)[^\s<>"]*`)
	replyPrefixRE  = regexp.MustCompile(`(?i)^\s*(?:re|aw|r|odp|sv|antw|rif|ref|res|vs|ynt)\s*(?:\[\d+\])?\s*:`)
	bannerRE       = regexp.MustCompile(`^[-_=]{2,}[^a-z]*[a-z][^-]*[-_=]{2,}$`)
	outlookFromRE  = regexp.MustCompile(`^(?:from|von|da|od|de|van|fran|fra|от)\s*:\s*\S`)
	outlookSentRE  = regexp.MustCompile(`^(?:sent|date|gesendet|datum|inviato|data|wyslano|envoye|enviado|verzonden|skickat|отправлено)\s*:`)
	attributionEnd = []string{
		"wrote:", "wrote :", "ha scritto:", "ha scritto :", "napisal(a):", "napisal:", "napisala:", "schrieb:",
		"schrieb :", "a ecrit :", "a ecrit:", "escribio:", "schreef:", "skrev:", "escreveu:", "kirjoitti:",
		"napsal:", "napsala:", "pisze:", "написал:", "написала:", "написал(а):",
	}
	attributionStart = []string{"on ", "il ", "w dniu", "am ", "le ", "el ", "op ", "den ", "em ", "dnia ", "in data "}
	// dateRE: the first line of an attribution wrapped by the
	// client starts with a known opener, or carries a date, or breaks
	// inside the address ("... <").
	dateRE         = regexp.MustCompile(`\d{1,4}[./-]\d{1,2}[./-]\d{2,4}`)
	forwardBanners = []string{
		"begin forwarded message", "inizio messaggio inoltrato", "anfang der weitergeleiteten",
		"debut du message reexpedie", "poczatek przekazanej wiadomosci",
	}
)

// stopRequest returns the stop phrase found and where ("subject" or
// "text"), or "" when m is not a stop request.
func stopRequest(m *Message) (phrase, where string) {
	if !replyPrefixRE.MatchString(m.Subject) {
		if p := matchStop(fold(cleanForStop(m.Subject))); p != "" {
			return p, "subject"
		}
	}
	text := newText(m)
	if len(strings.Fields(text)) > 4*maxStopWords {
		return "", "" // long even counting every link as a word: skip the costly cleanup
	}
	text = fold(cleanForStop(text))
	if len(strings.Fields(text)) > maxStopWords {
		return "", ""
	}
	if p := matchStop(text); p != "" {
		return p, "text"
	}
	return "", ""
}

func matchStop(s string) string {
	if sm := stopPhraseRE.FindStringSubmatch(s); sm != nil {
		return sm[1]
	}
	if stopCommandRE.MatchString(s) {
		return "stop"
	}
	return ""
}

// cleanForStop removes links and addresses: "unsubscribe" in a URL is not a
// request.
func cleanForStop(s string) string {
	s = urlRE.ReplaceAllString(s, " ")
	return addressRE.ReplaceAllString(s, " ")
}

// newText is what the sender wrote in this message: the text/plain part
// (else the HTML without its quoted block), cut at the first reply
// separator, without quoted lines. The auto-reply, stop and absence
// readings all start from it; Parse reads it once.
func newText(m *Message) string { return m.own }

func readNewText(m *Message) string {
	text := m.plain
	if strings.TrimSpace(text) == "" && m.html != "" {
		text = htmlToText(cutHTMLQuote(m.html))
	}
	return stripQuoted(text)
}

func stripQuoted(s string) string {
	lines := strings.SplitN(strings.ReplaceAll(s, "\r\n", "\n"), "\n", maxNewTextLines+1)
	lines = lines[:min(len(lines), maxNewTextLines)]
	var out []string
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") {
			continue
		}
		if t == "--" || isReplySeparator(lines, i) {
			break
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// isReplySeparator reports whether lines[i] opens the quoted original:
// an attribution ("On … wrote:", possibly wrapped over three lines), a
// "-----Original Message-----" style banner, a forward banner, an Outlook
// underscore rule, or an Outlook "From: … Sent: …" header block.
func isReplySeparator(lines []string, i int) bool {
	t := fold(strings.Trim(strings.TrimSpace(lines[i]), "*_ "))
	raw := strings.TrimSpace(lines[i])
	if t == "" && !strings.HasPrefix(raw, "__") {
		return false
	}
	if len(t) < 400 && hasSuffixAny(t, attributionEnd) {
		return true
	}
	if hasPrefixAny(t, attributionStart) || dateRE.MatchString(t) || strings.HasSuffix(t, "<") {
		joined := t
		for j := i + 1; j < len(lines) && j <= i+2; j++ {
			joined += " " + fold(strings.TrimSpace(lines[j]))
			if len(joined) < 400 && hasSuffixAny(joined, attributionEnd) {
				return true
			}
		}
	}
	if strings.HasPrefix(raw, "__________") && strings.Trim(raw, "_") == "" {
		return true
	}
	if bannerRE.MatchString(fold(raw)) || hasPrefixAny(t, forwardBanners) {
		return true
	}
	if outlookFromRE.MatchString(t) {
		for j := i + 1; j < len(lines) && j <= i+6; j++ {
			if outlookSentRE.MatchString(fold(strings.Trim(strings.TrimSpace(lines[j]), "*_ "))) {
				return true
			}
		}
	}
	return false
}

func hasSuffixAny(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, x := range prefixes {
		if strings.HasPrefix(s, x) {
			return true
		}
	}
	return false
}
