package inbound

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Return dates in out-of-office replies (rule R5b).
//
// An auto-reply says when its writer is back in one of two ways, and they
// differ by a day:
//
//   - "back on", "rientrerò il", "wracam", "wieder ab", "de retour le",
//     "de vuelta el" + D: the writer is back on D;
//   - "until", "fino al", "do", "bis (einschließlich)", "jusqu'au", "hasta"
//     + D, or the end of a range "1–15 August": D is the last day away, so
//     the writer is back the day after;
//   - a denied return before "until" or "before" D, "will not return until"
//     (Lotus Notes' own words), "won't be back until", "ne serai pas de
//     retour avant le": the writer is back on D.
//
// A date with neither kind of cue (a start of absence, "from 1 August", a
// date in a signature) is not a return date, nor is a year-less date whose
// written weekday is not its day (a notice left on from another year). When a message gives both, the
// explicit return wins over "until" (someone away until Friday who writes
// "back on Monday" is back on Monday).
//
// Dates without a year, weekdays ("back on Monday", "back on Monday 8th"),
// "tomorrow" and "next week" are read against the day the message was
// written in the zone given. A year-less date already past that day is
// next year's when that is at most 200 days ahead ("back on 7 January"
// written on 28 December), else it stays in the past (an out-of-office
// "until 1 May" still on in August is stale), and a return that is not
// after that day defers nothing.
//
// A maintained parser (github.com/markusmobius/go-dateparser v1.4.7) was
// measured first; see the commit that added this file for why it is not
// used.

// englishRE: English words an out-of-office sentence has; with a Date
// header from the Americas, an ambiguous 05/07 is then month first.
var englishRE = regexp.MustCompile(`\b(?:until|through|back|return|returning|away|out of|the office|will be)\b`)

// usZones are RFC 5322's obsolete zone names; Go keeps their name but
// not their offset ("Mon, 5 Jul 2010 08:57:06 EDT").
var usZones = map[string]bool{"EST": true, "EDT": true, "CST": true, "CDT": true, "MST": true, "MDT": true, "PST": true, "PDT": true}

// maxAhead bounds how far ahead a return date may lie: anything later is
// more likely a misread number than a return.
const maxAhead = 400 * 24 * time.Hour

// ReturnDate reads the first day its writer is back from the text of an
// out-of-office reply written at sent. Calendar days are read in loc (the
// prospect's zone; nil means sent's own zone). It returns midnight of that
// day in loc, the sentence the date came from, and ok; ok is false when
// the text gives no return date or gives one that is not after the day the
// message was written.
func ReturnDate(text string, sent time.Time, loc *time.Location) (time.Time, string, bool) {
	if sent.IsZero() {
		return time.Time{}, "", false
	}
	if loc == nil {
		loc = sent.Location()
	}
	today := dayOf(sent.In(loc))
	zone, offset := sent.Zone()
	american := offset <= -3*3600 && offset >= -10*3600 || usZones[zone]
	var best time.Time
	var bestText string
	bestCue := cueNone
	for _, s := range sentences(text) {
		f := fold(s)
		day, cue := returnDay(f, today, american && englishRE.MatchString(f))
		if cue > bestCue {
			best, bestText, bestCue = day, s, cue
		}
		if cue == cueBack {
			break
		}
	}
	if bestCue == cueNone || !best.After(today) || best.Sub(today) > maxAhead {
		return time.Time{}, "", false
	}
	return time.Date(best.Year(), best.Month(), best.Day(), 0, 0, 0, 0, loc), snippet(bestText), true
}

// dayOf is t's calendar day as midnight UTC, so day arithmetic is DST-free.
func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// cueKind is what the words around a date say it means.
type cueKind int

const (
	cueNone  cueKind = iota
	cueStart         // "from 1 August": the absence starts
	cueUntil         // "until 15 August": the last day away
	cueBack          // "back on 16 August": the first day back (ranks highest)
)

// dateMatch is one date expression found in a folded sentence.
type dateMatch struct {
	start, end  int
	day         time.Time // resolved calendar day, midnight UTC
	weekdayOnly bool      // a bare weekday: "Monday"
	rangeEnd    bool      // the second day of "July 10-31": the last day away
	// contradicted: a year-less date whose written weekday is not its
	// day's; it is no return date.
	contradicted bool
}

// returnDay finds the return day in one folded sentence: the first date
// with a "back" cue, else the day after the first with an "until" cue. The
// cue says which it was (cueNone: no return date here).
func returnDay(s string, today time.Time, monthFirst bool) (time.Time, cueKind) {
	matches := findDates(s, today, monthFirst)
	var until *dateMatch
	for i := range matches {
		m := &matches[i]
		prevEnd, nextStart := 0, len(s)
		if i > 0 {
			prevEnd = matches[i-1].end
		}
		if i+1 < len(matches) {
			nextStart = matches[i+1].start
		}
		if m.contradicted {
			continue
		}
		switch cueOf(s, matches, i, prevEnd, nextStart) {
		case cueBack:
			return m.day, cueBack
		case cueUntil:
			if until == nil {
				until = m
			}
		}
	}
	if until != nil {
		return until.day.AddDate(0, 0, 1), cueUntil
	}
	return time.Time{}, cueNone
}

// cueOf decides what matches[i] means from the words before it (back to
// the previous date) and, when it is the last date of the sentence, after
// it ("ab 13.01. wieder im Büro", "od 7 stycznia będę w biurze").
func cueOf(s string, matches []dateMatch, i, prevEnd, nextStart int) cueKind {
	m := matches[i]
	before := trimLead(s[prevEnd:m.start])
	if m.weekdayOnly && i > 0 && matches[i-1].weekdayOnly && len(strings.Fields(before)) <= 1 {
		return cueNone // "Monday to Friday": office hours, not an absence
	}
	if c, ok := cueSuffix(before, untilCues); ok {
		if negatedBack(strings.TrimSuffix(before, c)) {
			return cueBack // "will not return until 27.02.2007": back on the 27th
		}
		return cueUntil
	}
	if c, ok := cueSuffix(before, beforeCues); ok && negatedBack(strings.TrimSuffix(before, c)) {
		return cueBack // "ne serai pas de retour avant le 20 août"
	}
	if containsWord(before, backCues) {
		return cueBack
	}
	if nextStart == len(s) && containsWord(s[m.end:], backCues) {
		return cueBack
	}
	if hasCueSuffix(before, startCues) {
		return cueStart
	}
	// The end of a range: "01.08.–15.08.", "1-15 agosto", "July 10-31".
	if m.rangeEnd || rangeEndRE.MatchString(before) || (i > 0 && strings.TrimSpace(before) != "" && strings.Trim(before, " -–—") == "") {
		return cueUntil
	}
	return cueNone
}

// rangeEndRE: what precedes the second date of a range whose first one
// is a bare day number ("1-15 agosto", "od 1 – 15.08").
var rangeEndRE = regexp.MustCompile(`(?:^|[^\d])\d{1,2}\.?\s*[-–—]\s*$`)

// trimLead strips what may sit between a cue and its date: weekday names,
// articles, punctuation. "until monday, the" → "until".
func trimLead(before string) string {
	for {
		t := strings.TrimRight(before, " ,:\t")
		i := strings.LastIndexFunc(t, func(r rune) bool { return !isWordRune(r) && r != '\'' })
		word := t[i+1:]
		if word == "" || !(leadWords[word] || weekdayNames[word] != 0) {
			return t
		}
		before = t[:i+1]
	}
}

// leadWords are articles and fillers between a cue and its date.
var leadWords = map[string]bool{
	"the": true, "il": true, "l'": true, "le": true, "el": true, "dem": true, "den": true,
	"der": true, "dnia": true, "dniu": true, "dia": true, "giorno": true, "day": true,
	"of": true, "incl": true, "inclusive": true, "compreso": true,
	"incluso": true, "inclus": true, "włącznie": true, "wlacznie": true, "lo": true,
	"prossimo": true, "next": true, "this": true, "coming": true, "kommenden": true,
	"nachsten": true, "prochain": true, "proximo": true, "przyszly": true,
}

// The cue lists are folded (lower case, no diacritics). untilCues and
// startCues must end right before the date; backCues may be anywhere
// between the previous date and this one.
var (
	untilCues = []string{
		"until", "till", "til", "untill", "through", "thru", "to", "up to", "up to and including",
		"until and including", "after",
		"fino al", "fino a", "fino all'", "fino", "sino al", "sino a", "al", "all'", "dopo il",
		"do", "do dnia", "po", "az do", "az",
		"bis", "bis zum", "bis einschliesslich", "bis inklusive", "bis und mit", "bis am", "nach dem",
		"einschliesslich", "inkl.",
		"jusqu'au", "jusqu'a", "jusqu au", "jusqu'a le", "au", "apres le",
		"hasta el", "hasta", "hasta el dia", "despues del", "al dia",
	}
	startCues = []string{
		"from", "since", "starting", "beginning", "as of",
		"dal", "dall'", "da", "a partire dal", "a partire da",
		"od", "od dnia", "ab", "ab dem", "vom", "von", "seit", "am",
		"du", "des", "a partir du", "depuis", "le",
		"desde", "desde el", "a partir del", "a partir de", "el",
	}
	// beforeCues count only after a denied return: "not back before D".
	beforeCues = []string{
		"before", "prima del", "prima di", "przed", "vor dem", "vor", "avant le", "avant", "antes del", "antes de",
	}
	// negatedBackCues: a return that, denied, makes "until D" the day back.
	negatedBackCues = []string{
		"return", "back", "in the office", "in office", "available", "reachable",
		"rientr", "ritorn", "retour", "vuelta", "regres", "volver", "vuelvo", "zuruck", "zurueck",
	}
	backCues = []string{
		// en
		"back", "return", "returning", "returns", "in the office", "in office", "reachable again",
		"available again", "be available", "resume",
		// it
		"rientr", "ritorn", "torno", "tornero", "tornata", "tornato", "di nuovo", "nuovamente", "in ufficio", "in sede", "operativ", "disponibile",
		// pl
		"wracam", "wroce", "powrot", "w biurze", "w pracy", "dostepn", "ponownie", "z powrotem",
		// de
		"wieder", "zuruck", "zurueck", "ruckkehr", "rueckkehr", "im buro", "im buero", "im haus",
		// fr
		"retour", "reviens", "reviendrai", "reprendr", "reprise", "de nouveau", "au bureau", "disponible",
		// es
		"vuelta", "regres", "volver", "vuelvo", "reincorpor", "en la oficina", "retomar",
	}
)

// hasCueSuffix reports whether before ends with one of cues as whole words.
func hasCueSuffix(before string, cues []string) bool {
	_, ok := cueSuffix(before, cues)
	return ok
}

// cueSuffix is the cue of cues that before ends with as whole words.
func cueSuffix(before string, cues []string) (string, bool) {
	for _, c := range cues {
		if !strings.HasSuffix(before, c) {
			continue
		}
		head := before[:len(before)-len(c)]
		if r, _ := utf8.DecodeLastRuneInString(head); head == "" || !isWordRune(r) {
			return c, true
		}
	}
	return "", false
}

// replyPromise: "back to you", "get back to you" promises an answer, not a
// return ("I will come back to you beginning of next week"; Combodo's
// mail-to-ticket test corpus).
func replyPromise(rest string) bool {
	return strings.HasPrefix(rest, "back to you") || strings.HasPrefix(rest, "back to u ")
}

// negatedBack: head (the words before "until") ends with a denied return,
// "will not return", "won't be back", "not be in the office", "non
// rientrerò", "ne serai pas de retour", "no estaré de vuelta": then "until
// D" (or "before D") names the first day back, not the last day away.
// Being away "nicht im Büro bis", "nie ma mnie w biurze do", "non sarò in
// ufficio fino al" stays the last day away: "bis", "do" and "fino al"
// include their day.
func negatedBack(head string) bool {
	words := strings.Fields(head)
	tail := strings.Join(words[max(0, len(words)-5):], " ")
	return cueAt(tail, negatedBackCues, func(before, _ string) bool { return negated(before) })
}

// containsWord reports whether s holds one of cues starting at a word
// boundary (cues may be stems: "rientr" matches "rientrerò"), not denied
// and not a promise to answer.
func containsWord(s string, cues []string) bool {
	return cueAt(s, cues, func(before, rest string) bool { return !negated(before) && !replyPromise(rest) })
}

// cueAt reports whether s holds one of cues starting at a word boundary
// for which ok(the text before it, the text from it on) holds.
func cueAt(s string, cues []string, ok func(before, rest string) bool) bool {
	for _, c := range cues {
		for off := 0; ; {
			i := strings.Index(s[off:], c)
			if i < 0 {
				break
			}
			i += off
			if r, _ := utf8.DecodeLastRuneInString(s[:i]); (i == 0 || !isWordRune(r)) && ok(s[:i], s[i:]) {
				return true
			}
			off = i + len(c)
		}
	}
	return false
}

// negated: the cue follows a negation closely ("not be back", "non sarò
// in ufficio", "nie będę w biurze", "nicht im Büro").
func negated(before string) bool {
	words := strings.Fields(before)
	for i := len(words) - 1; i >= 0 && i >= len(words)-3; i-- {
		switch strings.Trim(words[i], ",.;:") {
		case "not", "non", "nie", "nicht", "ne", "no", "n'", "pas", "never", "mai":
			return true
		}
		if strings.HasSuffix(words[i], "n't") {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Months and weekdays of the six languages, folded, with the usual
// abbreviations. Abbreviations only count next to a day number.
var monthNames = map[string]time.Month{}

var monthList = [12][]string{
	{"january", "jan", "gennaio", "gen", "styczen", "stycznia", "sty", "januar", "janner", "janvier", "janv", "enero", "ene"},
	{"february", "feb", "febbraio", "luty", "lutego", "lut", "februar", "fevrier", "fevr", "fev", "febrero"},
	{"march", "mar", "marzo", "marzec", "marca", "marz", "maerz", "mrz", "mars"},
	{"april", "apr", "aprile", "kwiecien", "kwietnia", "kwi", "avril", "avr", "abril", "abr"},
	{"may", "maggio", "mag", "maj", "maja", "mai", "mayo"},
	{"june", "jun", "giugno", "giu", "czerwiec", "czerwca", "cze", "juni", "juin", "junio"},
	{"july", "jul", "luglio", "lug", "lipiec", "lipca", "lip", "juli", "juillet", "juil", "julio"},
	{"august", "aug", "agosto", "ago", "sierpien", "sierpnia", "sie", "aout"},
	{"september", "sep", "sept", "settembre", "set", "wrzesien", "wrzesnia", "wrz", "septembre", "septiembre", "setiembre"},
	{"october", "oct", "ottobre", "ott", "pazdziernik", "pazdziernika", "paz", "oktober", "okt", "octobre", "octubre"},
	{"november", "nov", "novembre", "listopad", "listopada", "lis", "noviembre"},
	{"december", "dec", "dicembre", "dic", "grudzien", "grudnia", "gru", "dezember", "dez", "decembre", "diciembre"},
}

var weekdayNames = map[string]time.Weekday{}

// weekdayList is indexed by time.Weekday+1 so that 0 means "not a weekday".
var weekdayList = [7][]string{
	{"sunday", "sun", "domenica", "niedziela", "niedziele", "niedzieli", "sonntag", "dimanche", "domingo"},
	{"monday", "mon", "lunedi", "poniedzialek", "poniedzialku", "montag", "lundi", "lunes"},
	{"tuesday", "tue", "tues", "martedi", "wtorek", "wtorku", "dienstag", "mardi", "martes"},
	{"wednesday", "wed", "mercoledi", "sroda", "srode", "srody", "mittwoch", "mercredi", "miercoles"},
	{"thursday", "thu", "thurs", "giovedi", "czwartek", "czwartku", "donnerstag", "jeudi", "jueves"},
	{"friday", "fri", "venerdi", "piatek", "piatku", "freitag", "vendredi", "viernes"},
	{"saturday", "sat", "sabato", "sobota", "sobote", "soboty", "samstag", "sonnabend", "samedi", "sabado"},
}

var (
	// numericDateREs: d.m[.y], d/m[/y], d-m-y; one separator per date, so
	// that "3-14.08.2026" reads as the range it is.
	numericDateREs = []*regexp.Regexp{
		regexp.MustCompile(`(\d{1,2})(\.)(\d{1,2})(?:\.((?:20)?\d\d))?\.?`),
		regexp.MustCompile(`(\d{1,2})(/)(\d{1,2})(?:/((?:20)?\d\d))?`),
		regexp.MustCompile(`(\d{1,2})(-)(\d{1,2})-((?:20)?\d\d)`),
	}
	isoDateRE    = regexp.MustCompile(`\b(20\d\d)-(\d{1,2})-(\d{1,2})\b`)
	dayMonthRE   *regexp.Regexp
	monthDayRE   *regexp.Regexp
	monthRangeRE *regexp.Regexp
	weekdayDayRE *regexp.Regexp
	weekdayRE    *regexp.Regexp
	dayOnlyRE    = regexp.MustCompile(`\b(?:the|il|le|el|am|dnia|on)\s+(\d{1,2})(?:st|nd|rd|th|er|\.)?(?:[^\d./:]|$)`)
	relativeRE   = regexp.MustCompile(`\b(?:tomorrow|domani|dopodomani|jutra|jutro|pojutrze|morgen|ubermorgen|uebermorgen|demain|apres-demain|apres demain|manana|pasado manana|next week|la prossima settimana|la settimana prossima|settimana prossima|prossima settimana|w przyszlym tygodniu|przyszlym tygodniu|nachste woche|nachsten woche|naechste woche|kommende woche|kommenden woche|la semaine prochaine|semaine prochaine|la proxima semana|proxima semana|la semana que viene|semana que viene)\b`)
)

// The month and weekday patterns match any word and look it up in
// monthNames / weekdayNames: a regexp alternation of the 130 names is
// ten times slower.
func init() {
	for i, names := range monthList {
		for _, n := range names {
			monthNames[n] = time.Month(i + 1)
		}
	}
	for i, names := range weekdayList {
		for _, n := range names {
			weekdayNames[n] = time.Weekday(i) + 1
		}
	}
	year := `(?:,?\s*(?:de\s+|del\s+|r\.?\s*)?((?:19|20)\d\d)\b)?`
	dayMonthRE = regexp.MustCompile(`\b(\d{1,2})(?:st|nd|rd|th|er|o|°|º|\.)?\s*(?:de\s+|of\s+|-)?([a-z]+)\b\.?` + year)
	monthRangeRE = regexp.MustCompile(`\b([a-z]+)\.?\s+(\d{1,2})\s*[-–—]\s*(\d{1,2})\b` + year)
	monthDayRE = regexp.MustCompile(`\b([a-z]+)\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b` + year)
	weekdayDayRE = regexp.MustCompile(`\b([a-z]+)\.?,?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th|er|o|°|º|\.)?(?:[^\d./:]|$)`)
	weekdayRE = regexp.MustCompile(`[a-z]+`)
}

// findDates returns the date expressions of folded sentence s in order of
// position, resolved against today; overlapping matches keep the most
// specific (patterns are tried from most to least specific).
func findDates(s string, today time.Time, monthFirst bool) []dateMatch {
	var out []dateMatch
	taken := func(a, b int) bool {
		for _, m := range out {
			if a < m.end && m.start < b {
				return true
			}
		}
		return false
	}
	add := func(a, b int, day time.Time, ok bool) {
		if ok && !taken(a, b) {
			out = append(out, dateMatch{start: a, end: b, day: day})
		}
	}
	// addYearless adds a date written without its year, unless the weekday
	// written before it is not the day's: "until Tuesday, January 20" sent
	// in September 2011 is a notice left on since 2009 (20 January 2012 is
	// a Friday). The span stays taken, so no weaker pattern reads it.
	addYearless := func(a, b int, day time.Time, ok bool) {
		if wd, named := weekdayBefore(s[:a]); ok && named && day.Weekday() != wd && !taken(a, b) {
			out = append(out, dateMatch{start: a, end: b, contradicted: true})
			return
		}
		add(a, b, day, ok)
	}
	for _, g := range isoDateRE.FindAllStringSubmatchIndex(s, -1) {
		y, mo, d := atoi(s, g, 1), atoi(s, g, 2), atoi(s, g, 3)
		day, ok := civil(y, mo, d)
		add(g[0], g[1], day, ok)
	}
	for _, g := range dayMonthRE.FindAllStringSubmatchIndex(s, -1) {
		d, mo, y := atoi(s, g, 1), int(monthNames[s[g[4]:g[5]]]), atoi(s, g, 3)
		day, ok := withYear(d, mo, y, today)
		if y == 0 {
			addYearless(g[0], g[1], day, ok)
		} else {
			add(g[0], g[1], day, ok)
		}
	}
	// "July 10-31": two dates, the second the end of the range.
	for _, g := range monthRangeRE.FindAllStringSubmatchIndex(s, -1) {
		mo, d1, d2, y := int(monthNames[s[g[2]:g[3]]]), atoi(s, g, 2), atoi(s, g, 3), atoi(s, g, 4)
		first, ok1 := withYear(d1, mo, y, today)
		last, ok2 := withYear(d2, mo, y, today)
		if mo == 0 || !ok1 || !ok2 || d2 <= d1 || taken(g[0], g[1]) || g[1] < len(s) && s[g[1]] == ':' {
			continue
		}
		out = append(out, dateMatch{start: g[0], end: g[5], day: first},
			dateMatch{start: g[6], end: g[1], day: last, rangeEnd: true})
	}
	for _, g := range monthDayRE.FindAllStringSubmatchIndex(s, -1) {
		mo, d, y := int(monthNames[s[g[2]:g[3]]]), atoi(s, g, 2), atoi(s, g, 3)
		day, ok := withYear(d, mo, y, today)
		if y == 0 {
			addYearless(g[0], g[1], day, ok)
		} else {
			add(g[0], g[1], day, ok)
		}
	}
	for _, g := range numericDates(s) {
		a, b := atoi(s, g, 1), atoi(s, g, 3)
		y := atoi(s, g, 4)
		if y > 0 && y < 100 {
			y += 2000
		}
		start, end := g[0], g[1]
		edge := "0123456789./:,"
		if s[g[4]:g[5]] == "-" {
			edge += "-" // "11-22-33" is a phone number; "01.08.-15.08." a range
		}
		if start > 0 && strings.IndexByte(edge, s[start-1]) >= 0 ||
			end < len(s) && strings.IndexByte(edge[:10]+":/"+edge[14:], s[end]) >= 0 {
			continue // part of a longer number, a time or a phone number
		}
		d, mo := a, b
		if b > 12 && a <= 12 || monthFirst && b <= 12 && s[g[4]:g[5]] == "/" {
			d, mo = b, a // US order: unambiguous, or an English message from the Americas
		}
		day, ok := withYear(d, mo, y, today)
		if y == 0 {
			addYearless(start, end, day, ok)
		} else {
			add(start, end, day, ok)
		}
	}
	for _, g := range weekdayDayRE.FindAllStringSubmatchIndex(s, -1) {
		if wd := weekdayNames[s[g[2]:g[3]]]; wd != 0 {
			day, ok := weekdayAndDay(wd-1, atoi(s, g, 2), today)
			add(g[0], g[5], day, ok)
		}
	}
	for _, g := range dayOnlyRE.FindAllStringSubmatchIndex(s, -1) {
		day, ok := nextDayOfMonth(atoi(s, g, 1), today)
		add(g[2], g[3], day, ok)
	}
	for _, g := range relativeRE.FindAllStringIndex(s, -1) {
		add(g[0], g[1], relativeDay(s[g[0]:g[1]], today), true)
	}
	for _, g := range weekdayRE.FindAllStringIndex(s, -1) {
		name := s[g[0]:g[1]]
		if weekdayNames[name] == 0 || len(name) <= 4 || datePartFollows(s[g[1]:]) {
			continue // "mon", "sat", "sun" alone are too often words; "Monday 8 August" is one date
		}
		wd := weekdayNames[name] - 1
		ahead := (int(wd) - int(today.Weekday()) + 7) % 7
		if ahead == 0 {
			ahead = 7
		}
		if !taken(g[0], g[1]) {
			out = append(out, dateMatch{start: g[0], end: g[1], day: today.AddDate(0, 0, ahead), weekdayOnly: true})
		}
	}
	sortMatches(out)
	return out
}

// weekdayBefore is the weekday named right before a date ("tuesday, " in
// "tuesday, january 20"; "the" may sit between).
func weekdayBefore(before string) (time.Weekday, bool) {
	t := strings.TrimRight(before, " ,.")
	t = strings.TrimSuffix(t, " the")
	t = strings.TrimRight(t, " ,.")
	i := strings.LastIndexFunc(t, func(r rune) bool { return !isWordRune(r) })
	if wd := weekdayNames[t[i+1:]]; wd != 0 && len(t[i+1:]) > 3 {
		return wd - 1, true
	}
	return 0, false
}

// datePartFollows: rest (after a weekday) starts with a day number or a
// month name.
func datePartFollows(rest string) bool {
	rest = strings.TrimLeft(rest, " ,.")
	rest = strings.TrimPrefix(rest, "the ")
	if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return true
	}
	w := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) }); i >= 0 {
		w = rest[:i]
	}
	_, month := monthNames[w]
	return month
}

func numericDates(s string) [][]int {
	var all [][]int
	for _, re := range numericDateREs {
		all = append(all, re.FindAllStringSubmatchIndex(s, -1)...)
	}
	return all
}

func sortMatches(ms []dateMatch) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].start < ms[j-1].start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// atoi reads submatch n of g in s, 0 when absent.
func atoi(s string, g []int, n int) int {
	if 2*n+1 >= len(g) || g[2*n] < 0 {
		return 0
	}
	v, _ := strconv.Atoi(s[g[2*n]:g[2*n+1]])
	return v
}

// civil is the day y-m-d, false when it does not exist.
func civil(y, m, d int) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == d
}

// withYear resolves d.m (and year y, 0 when not given) against today. A
// year-less date already past is next year's when that lies within
// rolloverAhead ("back on 7 January" written on 28 December); otherwise it
// stays in the past ("until 1 May" still on in August is stale).
func withYear(d, m, y int, today time.Time) (time.Time, bool) {
	if y != 0 {
		return civil(y, m, d)
	}
	t, ok := civil(today.Year(), m, d)
	if !ok && m == 2 && d == 29 {
		return civil(today.Year()+1, m, d)
	}
	if ok && t.Before(today) {
		if next, _ := civil(today.Year()+1, m, d); next.Sub(today) <= rolloverAhead {
			return next, true
		}
	}
	return t, ok
}

// rolloverAhead: how far into next year a year-less date may be read.
const rolloverAhead = 200 * 24 * time.Hour

// weekdayAndDay is "Monday 8th": the first day numbered d after today that
// falls on wd, within a year; else simply the next day numbered d.
func weekdayAndDay(wd time.Weekday, d int, today time.Time) (time.Time, bool) {
	for i := range 13 {
		t := time.Date(today.Year(), today.Month()+time.Month(i), d, 0, 0, 0, 0, time.UTC)
		if t.Day() == d && t.After(today) && t.Weekday() == wd {
			return t, true
		}
	}
	return nextDayOfMonth(d, today)
}

// nextDayOfMonth is the first day numbered d after today.
func nextDayOfMonth(d int, today time.Time) (time.Time, bool) {
	if d < 1 || d > 31 {
		return time.Time{}, false
	}
	for i := range 3 {
		t := time.Date(today.Year(), today.Month()+time.Month(i), d, 0, 0, 0, 0, time.UTC)
		if t.Day() == d && t.After(today) {
			return t, true
		}
	}
	return time.Time{}, false
}

// relativeDay resolves "tomorrow", "the day after tomorrow" and "next week"
// (its Monday) in any of the six languages.
func relativeDay(w string, today time.Time) time.Time {
	switch w {
	case "dopodomani", "pojutrze", "ubermorgen", "uebermorgen", "apres-demain", "apres demain", "pasado manana":
		return today.AddDate(0, 0, 2)
	case "tomorrow", "domani", "jutra", "jutro", "morgen", "demain", "manana":
		return today.AddDate(0, 0, 1)
	}
	ahead := (8 - int(today.Weekday())) % 7
	if ahead == 0 {
		ahead = 7
	}
	return today.AddDate(0, 0, ahead)
}

// sentences splits text into sentences: paragraphs (blank lines) and a
// ".", "!" or "?" followed by a space, except the dot after a number
// that a month or a lower-case word follows ("am 8. August", "bis 12.01.
// abwesend"). Lines within a paragraph are
// joined, since auto-replies wrap mid-sentence.
func sentences(text string) []string {
	if len(text) > maxAbsenceText {
		text = truncateUTF8(text, maxAbsenceText)
	}
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		para = strings.Join(strings.Fields(para), " ")
		start := 0
		for i := 0; i+1 < len(para); i++ {
			c := para[i]
			if (c != '.' && c != '!' && c != '?') || para[i+1] != ' ' {
				continue
			}
			if c == '.' && i > 0 && para[i-1] >= '0' && para[i-1] <= '9' && !sentenceStarts(para[i+2:]) {
				continue
			}
			if c == '.' && abbreviationBefore(para[start:i]) {
				continue
			}
			out = append(out, para[start:i+1])
			start = i + 2
		}
		if start < len(para) {
			out = append(out, para[start:])
		}
		if len(out) >= maxSentences {
			return out[:maxSentences]
		}
	}
	return out
}

// An out-of-office says when its writer is back near its top; these bound
// the work on a long message (a few ms at most).
const (
	maxAbsenceText = 8 << 10
	maxSentences   = 40
)

// sentenceStarts: after "14." a capital word that is not a month starts
// a new sentence; "17. August" and "12.01. abwesend" go on.
func sentenceStarts(rest string) bool {
	r, _ := utf8.DecodeRuneInString(rest)
	if !unicode.IsUpper(r) {
		return false
	}
	w := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) }); i >= 0 {
		w = rest[:i]
	}
	_, month := monthNames[fold(w)]
	return !month
}

// abbreviationBefore: "Jan.", "Mr." and the like do not end a sentence.
func abbreviationBefore(s string) bool {
	i := strings.LastIndexByte(s, ' ')
	w := fold(s[i+1:])
	_, month := monthNames[w]
	letters := strings.IndexFunc(w, unicode.IsLetter) >= 0
	return month || letters && len(w) <= 2 || w == "incl" || w == "sept" || w == "ca"
}

// snippet is a sentence as quoted in the timeline: one line, at most 200
// bytes, cut at a rune boundary.
func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= 200 {
		return s
	}
	return truncateUTF8(s, 199) + "…"
}
