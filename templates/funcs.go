package templates

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Funcs are the functions every template may call, in the subject, the
// text body and the HTML body alike. The set is kept small on purpose:
//
//	date LAYOUT TIME          TIME formatted with a Go layout, English names:
//	                          {{date "2 January 2006" .Prospect.FirstContact}}
//	dateIn LANG LAYOUT TIME   the same with month and weekday names in LANG,
//	                          one of en, it, pl, de, fr, es (a region such as
//	                          "it-IT" is ignored; any other language gives
//	                          English): {{dateIn "it" "2 January" .Prospect.FirstContact}}
//	                          → "20 novembre". Polish months take the genitive
//	                          when the layout has a day ("20 listopada").
//	default DEFAULT VALUE     VALUE, or DEFAULT when VALUE is empty or blank:
//	                          {{.Prospect.FirstName | default "there"}}
//	upper TEXT, lower TEXT    TEXT in upper or lower case.
//
// A custom field is read as .Prospect.Fields.NAME and must be declared in
// the sequence's `fields:`; `drip check` refuses a template that reads an
// undeclared one, since it would be missing at send time.
func Funcs() map[string]any {
	return map[string]any{
		"date":    formatDate,
		"dateIn":  formatDateIn,
		"default": defaultValue,
		"upper":   strings.ToUpper,
		"lower":   strings.ToLower,
	}
}

func formatDate(layout string, t time.Time) (string, error) {
	if t.IsZero() {
		return "", fmt.Errorf("date: the time is not set")
	}
	return t.Format(layout), nil
}

func defaultValue(def string, v any) any {
	if v == nil {
		return def
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.String && strings.TrimSpace(rv.String()) == "":
		return def
	case rv.Kind() == reflect.Pointer && rv.IsNil():
		return def
	}
	if t, ok := v.(time.Time); ok && t.IsZero() {
		return def
	}
	return v
}

// names holds month and weekday names of one language.
type names struct {
	months, monthsShort     [12]string
	monthsOf                [12]string // genitive ("of November"), where it differs
	weekdays, weekdaysShort [7]string  // Sunday first, like time.Weekday
}

var languages = map[string]*names{
	"it": {
		months:        [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		monthsShort:   [12]string{"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"},
		weekdays:      [7]string{"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"},
		weekdaysShort: [7]string{"dom", "lun", "mar", "mer", "gio", "ven", "sab"},
	},
	"pl": {
		months:        [12]string{"styczeń", "luty", "marzec", "kwiecień", "maj", "czerwiec", "lipiec", "sierpień", "wrzesień", "październik", "listopad", "grudzień"},
		monthsOf:      [12]string{"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września", "października", "listopada", "grudnia"},
		monthsShort:   [12]string{"sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"},
		weekdays:      [7]string{"niedziela", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota"},
		weekdaysShort: [7]string{"niedz.", "pon.", "wt.", "śr.", "czw.", "pt.", "sob."},
	},
	"de": {
		months:        [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		monthsShort:   [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."},
		weekdays:      [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		weekdaysShort: [7]string{"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."},
	},
	"fr": {
		months:        [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		monthsShort:   [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		weekdays:      [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		weekdaysShort: [7]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."},
	},
	"es": {
		months:        [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		monthsShort:   [12]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"},
		weekdays:      [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		weekdaysShort: [7]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"},
	},
}

// Languages lists the languages dateIn knows besides English.
func Languages() []string { return []string{"de", "en", "es", "fr", "it", "pl"} }

// knownLanguage reports whether dateIn has names for lang.
func knownLanguage(lang string) bool {
	l := baseLanguage(lang)
	return l == "en" || languages[l] != nil
}

func baseLanguage(lang string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(lang)), "-")
	l, _, _ = strings.Cut(l, "_")
	return l
}

// formatDateIn formats t with layout, writing month and weekday names in
// lang. It cuts the layout at the name elements (January, Jan, Monday, Mon,
// recognised as time.Format recognises them) and formats the pieces between
// them with time.Format, which treats each element on its own.
func formatDateIn(lang, layout string, t time.Time) (string, error) {
	if t.IsZero() {
		return "", fmt.Errorf("dateIn: the time is not set")
	}
	n := languages[baseLanguage(lang)]
	if n == nil {
		return t.Format(layout), nil
	}
	months := n.months
	if n.monthsOf[0] != "" && hasDayOfMonth(layout) {
		months = n.monthsOf
	}
	var b strings.Builder
	start := 0
	flush := func(i int) {
		if i > start {
			b.WriteString(t.Format(layout[start:i]))
		}
	}
	for i := 0; i < len(layout); {
		var name string
		var width int
		rest := layout[i:]
		switch {
		case strings.HasPrefix(rest, "January"):
			name, width = months[t.Month()-1], 7
		case strings.HasPrefix(rest, "Jan") && !startsLower(rest[3:]):
			name, width = n.monthsShort[t.Month()-1], 3
		case strings.HasPrefix(rest, "Monday"):
			name, width = n.weekdays[t.Weekday()], 6
		case strings.HasPrefix(rest, "Mon") && !startsLower(rest[3:]):
			name, width = n.weekdaysShort[t.Weekday()], 3
		default:
			i++
			continue
		}
		flush(i)
		b.WriteString(name)
		i += width
		start = i
	}
	flush(len(layout))
	return b.String(), nil
}

func startsLower(s string) bool { return s != "" && s[0] >= 'a' && s[0] <= 'z' }

// hasDayOfMonth reports whether a Go layout has a day-of-month element
// (2, 02 or _2), as opposed to the year 2006 or the day of the year 002/__2.
func hasDayOfMonth(layout string) bool {
	for i := 0; i < len(layout); i++ {
		rest := layout[i:]
		switch {
		case strings.HasPrefix(rest, "2006"):
			i += 3
		case strings.HasPrefix(rest, "_2006"):
			i += 4
		case strings.HasPrefix(rest, "__2"), strings.HasPrefix(rest, "002"):
			i += 2
		case strings.HasPrefix(rest, "02"), strings.HasPrefix(rest, "_2"), rest[0] == '2':
			return true
		}
	}
	return false
}
