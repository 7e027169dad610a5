package inbound

import (
	"regexp"
	"strings"
	"unicode"
)

// Successor is who took over from a person who left, as far as the
// auto-reply names them. Either field may be empty.
type Successor struct {
	Email string // lower-cased
	Name  string // as written, e.g. "Anna Nowak"
}

// Departure is what an auto-reply says about its writer having left.
type Departure struct {
	Successor Successor
	Text      string // the sentence that said so, one line
}

// leftPhrases say, in the six languages, that a person no longer works
// where they did. Folded. They are kept specific: "no longer with",
// never "no longer in the office" or "nicht mehr erreichbar", which
// ordinary out-of-office mail says.
var leftPhrases = []string{
	// en
	"no longer with", "no longer work", "no longer employed", "no longer part of",
	"no longer at the company", "no longer at this company", "left the company", "left the organization",
	"left the organisation", "left the firm", "has left our company", "have left our company",
	"has left our organization", "has left the business", "no longer associated with",
	"is no longer at ", "am no longer at ", "no longer an employee",
	// it
	"non lavora piu", "non lavoro piu", "non fa piu parte", "non faccio piu parte", "non e piu in forza",
	"ha lasciato l'azienda", "ha lasciato la societa", "ho lasciato l'azienda", "ho lasciato la societa",
	"non collabora piu", "non collaboro piu", "non e piu dipendente", "non e piu presente in azienda",
	"ha cessato il rapporto", "ha cessato la collaborazione", "non e piu operativo presso", "non e piu operativa presso",
	// pl
	"nie pracuje juz", "juz nie pracuje", "nie jest juz pracownikiem", "nie jestem juz pracownikiem",
	"nie jest juz zatrudnion", "nie jestem juz zatrudnion", "odszedl z firmy", "odeszla z firmy",
	"zakonczyl wspolprace", "zakonczyla wspolprace", "zakonczylem wspolprace", "zakonczylam wspolprace",
	"nie pracuje w firmie", "nie pracuje w naszej firmie", "nie jest juz zwiazan",
	// de
	"nicht mehr im unternehmen", "nicht mehr in unserem unternehmen", "nicht mehr fur unser",
	"nicht mehr fuer unser", "nicht mehr fur die firma", "nicht mehr bei uns", "nicht mehr bei der firma",
	"nicht mehr tatig", "nicht mehr taetig", "nicht mehr beschaftigt", "nicht mehr beschaeftigt",
	"hat das unternehmen verlassen", "habe das unternehmen verlassen", "aus dem unternehmen ausgeschieden",
	"ausgeschieden", "nicht mehr mitarbeiter",
	// fr
	"ne fait plus partie", "ne fais plus partie", "ne travaille plus", "a quitte la societe",
	"a quitte l'entreprise", "ai quitte la societe", "ai quitte l'entreprise", "a quitte ses fonctions",
	"a quitte notre", "n'est plus en poste", "n'est plus au sein", "n'est plus chez", "n'est plus employe",
	"ne suis plus en poste", "n'est plus collaborat",
	// es
	"ya no trabaja", "ya no trabajo", "ya no forma parte", "ya no formo parte", "ha dejado la empresa",
	"he dejado la empresa", "ya no esta en la empresa", "ha dejado de trabajar", "ya no pertenece",
	"dejo la empresa", "ha abandonado la empresa", "ya no presta servicios", "ya no colabora",
}

// leftPatterns catch the departures whose words a date or a name splits:
// "hat das Unternehmen zum 31.07. verlassen", "left Acme in July".
var leftPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:hat|habe|haben) (?:das|unser|unsere) (?:unternehmen|firma|haus)\b.{0,40}\bverlassen`),
	regexp.MustCompile(`\b(?:has|have) left (?:the company|the firm|[a-z0-9&.-]+(?: [a-z0-9&.-]+)?) (?:on|in|as of|at the end of)\b`),
	regexp.MustCompile(`\b(?:ha|ho) lasciato (?:l'azienda|la societa|la nostra azienda)\b`),
	regexp.MustCompile(`\b(?:a|ai) quitte (?:la societe|l'entreprise|notre societe|notre entreprise)\b`),
	regexp.MustCompile(`\b(?:odszedl|odeszla|odszedlem|odeszlam) z (?:firmy|naszej firmy|pracy)\b`),
	// A personal mailbox that says it is dead: "This email inbox
	// kijitora@example.com is no longer in use" (sisimai rfc3834-06).
	regexp.MustCompile(`\b(?:inbox|mailbox|e-?mail address|email account)\b.{0,80}\b(?:is|has been) no longer (?:in use|used|monitored|active)\b`),
}

// successorCues introduce who to write to instead.
var successorCues = []string{
	"contact", "write to", "reach out to", "successor", "replacement", "replaced by", "taken over", "took over",
	"takes over", "colleague", "forward", "send", "in charge",
	"rivolg", "contatt", "scriv", "sostitut", "successore", "collega", "referente", "subentrat",
	"kontakt", "prosze", "prosimy", "pisac", "zastep", "nastep", "przejal", "przejela", "kieruj",
	"wenden sie sich", "kontaktieren", "nachfolger", "ansprechpartner", "kollege", "kollegin", "ubernommen", "uebernommen", "schreiben sie",
	"contacter", "contactez", "adresser", "remplac", "successeur", "collegue", "ecrire a", "ecrivez",
	"contacte", "contactar", "dirig", "escrib", "sustitut", "sucesor", "companer", "reemplaz",
}

// roleLocalParts are shared mailboxes, not a person to enrol.
var roleLocalParts = map[string]bool{
	"info": true, "office": true, "sales": true, "support": true, "contact": true, "kontakt": true,
	"biuro": true, "hello": true, "admin": true, "noreply": true, "no-reply": true, "service": true,
	"help": true, "helpdesk": true, "hr": true, "jobs": true, "marketing": true, "segreteria": true,
	"amministrazione": true, "vertrieb": true, "ventas": true, "reception": true, "mail": true,
	"post": true, "zentrale": true, "team": true, "customer": true, "commerciale": true, "sekretariat": true,
	"accueil": true, "contacto": true, "postmaster": true, "webmaster": true, "welcome": true,
}

// LeftCompany reports whether the text of an auto-reply says its writer
// (or the person it was written to) has left the company, with the
// successor when it names one. from is the departed person's own address,
// never a successor. A text that also gives a return date is an ordinary
// out-of-office, not a departure; the caller checks that with ReturnDate.
func LeftCompany(text, from string) (Departure, bool) {
	sents := sentences(text)
	at := -1
	for i, s := range sents {
		if saysLeft(s) {
			at = i
			break
		}
	}
	if at < 0 {
		return Departure{}, false
	}
	d := Departure{Text: snippet(sents[at])}
	d.Successor = successor(sents[at:], strings.ToLower(from))
	return d, true
}

// saysLeft: s, one sentence, says someone left or that the mailbox is dead.
func saysLeft(s string) bool {
	f := fold(s)
	return containsAny(f, leftPhrases) != "" || matchesAny(f, leftPatterns)
}

// successor finds the person to write to in the sentences from the one
// that said the person left: the first personal address (not from, not a
// shared mailbox) with the name written beside it; else a name after a
// cue ("please contact Anna Nowak").
func successor(sents []string, from string) Successor {
	for i, s := range sents {
		if i > 6 {
			break
		}
		for _, loc := range addressRE.FindAllStringIndex(s, -1) {
			addr := cleanAddress(s[loc[0]:loc[1]])
			if addr == "" || addr == from || roleLocalParts[localPart(addr)] {
				continue
			}
			// In the sentence that says so, an address before the words
			// is the one that left ("Mark Twain (mark@…) is no longer
			// with", "This inbox kijitora@… is no longer in use").
			if i == 0 && !saysLeft(s[:loc[0]]) {
				continue
			}
			name := nameBefore(s[:loc[0]])
			if name == "" {
				name = nameAfter(s[loc[1]:])
			}
			if name != "" && !nameFitsAddress(name, addr) && !hasCue(s[:loc[0]]) {
				name = ""
			}
			return Successor{Email: addr, Name: name}
		}
	}
	for i, s := range sents {
		if i > 6 {
			break
		}
		f := fold(s)
		for _, c := range successorCues {
			if j := strings.Index(f, c); j >= 0 {
				if name := leadingName(afterCue(s, j+len(c))); name != "" {
					return Successor{Name: name}
				}
			}
		}
	}
	return Successor{}
}

func localPart(addr string) string {
	if i := strings.IndexByte(addr, '@'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func hasCue(s string) bool {
	return containsAny(fold(s), successorCues) != ""
}

// nameFitsAddress: a name written beside an address is that address's
// owner when a part of it appears in the local part (anna.nowak@,
// a.nowak@, anowak@).
func nameFitsAddress(name, addr string) bool {
	local := fold(localPart(addr))
	for _, w := range strings.Fields(fold(name)) {
		if len(w) >= 3 && strings.Contains(local, w) {
			return true
		}
	}
	return false
}

// afterCue is s from byte offset i of its folded form, mapped back to s:
// fold only shortens multi-byte letters, so the offset is found by folding
// prefixes of s.
func afterCue(s string, i int) string {
	for j := range s {
		if len(fold(s[:j])) >= i {
			return s[j:]
		}
	}
	return ""
}

// nameWords are words that start with a capital and may belong to a name.
var nameWordRE = regexp.MustCompile(`^[\p{Lu}][\p{L}'’-]+\.?$`)

// titles before a name, dropped from it.
var titles = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "herr": true, "frau": true, "pan": true, "pani": true,
	"panem": true, "pania": true, "panią": true, "m": true, "mme": true, "monsieur": true, "madame": true,
	"sr": true, "sra": true, "senor": true, "señor": true, "senora": true, "señora": true, "sig": true,
	"sig.ra": true, "dott": true, "dott.ssa": true, "ing": true, "dottor": true, "dottoressa": true,
}

// notNameWords start with a capital in a sentence but are not names.
var notNameWords = map[string]bool{
	"please": true, "email": true, "e-mail": true, "mail": true, "contact": true, "thank": true, "thanks": true,
	"the": true, "our": true, "my": true, "for": true, "at": true, "or": true, "and": true, "via": true,
	"per": true, "il": true, "la": true, "le": true, "lo": true, "al": true, "alla": true, "sua": true, "suo": true,
	"pan": false, "w": true, "z": true, "do": true, "na": true, "von": true, "an": true, "bitte": true,
	"sie": true, "ihre": true, "ihr": true, "unsere": true, "unser": true, "den": true, "die": true, "der": true,
	"nous": true, "vous": true, "votre": true, "notre": true, "son": true, "sa": true, "el": true, "su": true,
	"nuestro": true, "nuestra": true, "por": true, "favor": true, "il-la": true, "kontakt": true, "tel": true,
	"phone": true, "telefono": true, "telefon": true, "mobile": true, "colleague": true, "collega": true,
	"kollege": true, "kollegin": true, "collegue": true, "i": true, "je": true, "ich": true, "io": true,
	"yo": true, "ja": true, "a": true, "en": true, "de": true, "di": true, "du": true, "des": true,
}

// nameBefore is the name written just before an address: "Anna Nowak
// (", "Anna Nowak <", "Anna Nowak at ", "Anna Nowak: ", "Herrn Max Muster unter ".
func nameBefore(s string) string {
	s = strings.TrimRight(s, " \t(<[:,-–\"'")
	words := strings.Fields(s)
	// Drop connecting words between the name and the address.
	for len(words) > 0 {
		w := strings.ToLower(strings.Trim(words[len(words)-1], ",:;()<>\"'"))
		switch w {
		case "at", "via", "on", "under", "unter", "email", "e-mail", "mail", "a", "à", "al", "all'indirizzo",
			"indirizzo", "adresse", "l'adresse", "adres", "adresem", "pod", "na", "en", "en:", "correo",
			"email:", "e-mail:", "mail:", "per", "tramite", "über", "uber", "-", "–", "(", "<", "or", "o", "oder", "ou", "lub":
			words = words[:len(words)-1]
			continue
		}
		break
	}
	var name []string
	for i := len(words) - 1; i >= 0 && len(name) < 3; i-- {
		w := strings.Trim(words[i], ",:;()<>\"'")
		if !nameWordRE.MatchString(w) || notNameWords[strings.ToLower(w)] || titles[strings.ToLower(strings.TrimSuffix(w, "."))] {
			break
		}
		name = append([]string{strings.TrimSuffix(w, ".")}, name...)
		if strings.HasSuffix(words[i], ",") && i < len(words)-1 {
			break
		}
	}
	if len(name) < 2 {
		return ""
	}
	return strings.Join(name, " ")
}

// nameAfter is a name in brackets right after an address:
// "anna.nowak@x.pl (Anna Nowak)".
func nameAfter(s string) string {
	s = strings.TrimLeft(s, " >")
	if !strings.HasPrefix(s, "(") {
		return ""
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return ""
	}
	return leadingName(s[1:end])
}

// leadingName is the capitalised words (two or three) s starts with,
// skipping titles: "Anna Nowak, tel. …" → "Anna Nowak".
func leadingName(s string) string {
	words := strings.Fields(strings.TrimLeft(s, " :,"))
	var name []string
	for _, raw := range words {
		w := strings.Trim(raw, ",:;()<>\"'.")
		lw := strings.ToLower(w)
		if len(name) == 0 && (titles[lw] || lw == "il" || lw == "la" || lw == "our" || lw == "my" ||
			lw == "colleague" || lw == "collega" || lw == "kollegen" || lw == "kollegin" || lw == "mia" || lw == "mio" ||
			lw == "sua" || lw == "suo" || lw == "ma" || lw == "mon" || lw == "su" || lw == "mi" || lw == "z" || lw == "an" || lw == "à" ||
			lw == "a" || lw == "con") {
			continue
		}
		if !nameWordRE.MatchString(w) || notNameWords[lw] {
			break
		}
		name = append(name, w)
		if len(name) == 3 || strings.ContainsAny(raw, ",:;)") {
			break
		}
	}
	if len(name) < 2 || !unicode.IsUpper([]rune(name[1])[0]) {
		return ""
	}
	return strings.Join(name, " ")
}

func matchesAny(s string, res []*regexp.Regexp) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
