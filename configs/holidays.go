package configs

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/drip-email/drip/internal/suggest"
)

// Holidays and closures in the send window (R2): a day that is a public
// holiday in one of the window's country calendars, or inside one of its
// closures, is not a window day. Dates are civil dates in the prospect's
// time zone, like the window's weekdays and clock times.

// HolidaysProspect in window.holidays stands for the prospect's own
// country: its country field, else the country of its time zone.
const HolidaysProspect = "prospect"

// Holidays lists country calendars (ISO 3166 alpha-2 codes, lower case) and
// optionally HolidaysProspect. Written as a list, [it, pl], or as one value,
// "prospect".
type Holidays []string

// UnmarshalYAML implements yaml.Unmarshaler: a list or a single value.
func (h *Holidays) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*h = Holidays{strings.ToLower(strings.TrimSpace(n.Value))}
		return nil
	case yaml.SequenceNode:
		out := make(Holidays, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return positioned(c, "expected a country code, not a "+kindName(c.Kind))
			}
			out = append(out, strings.ToLower(strings.TrimSpace(c.Value)))
		}
		*h = out
		return nil
	}
	return positioned(n, "expected a list of country codes, e.g. [it, pl], or prospect")
}

// Date is a civil date, without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is t's date in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q (use YYYY-MM-DD)", strings.TrimSpace(s))
	}
	return DateOf(t), nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Time is midnight of d in UTC, for calendar arithmetic free of DST.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// AddDays is d moved by n calendar days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Weekday of d.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// DateRange is an inclusive range of civil dates, written
// "2026-08-10/2026-08-21" or, for one day, "2026-12-24".
type DateRange struct {
	From, To Date
}

// MaxClosedDays bounds one closure, so that a typo in a year ("2026-08-10/
// 2062-08-21") cannot silence a sequence for decades.
const MaxClosedDays = 366

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *DateRange) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	from, to, isRange := strings.Cut(s, "/")
	f, err := ParseDate(from)
	if err != nil {
		return fmt.Errorf("closure %q: %v; a closure is YYYY-MM-DD/YYYY-MM-DD or one YYYY-MM-DD", s, err)
	}
	t := f
	if isRange {
		if t, err = ParseDate(to); err != nil {
			return fmt.Errorf("closure %q: %v; a closure is YYYY-MM-DD/YYYY-MM-DD or one YYYY-MM-DD", s, err)
		}
	}
	if t.Before(f) {
		return fmt.Errorf("closure %q ends before it begins", s)
	}
	if days := int(t.Time().Sub(f.Time()).Hours()/24) + 1; days > MaxClosedDays {
		return fmt.Errorf("closure %q is %d days long; at most %d", s, days, MaxClosedDays)
	}
	*r = DateRange{From: f, To: t}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (r DateRange) MarshalText() ([]byte, error) {
	if r.From == r.To {
		return []byte(r.From.String()), nil
	}
	return []byte(r.From.String() + "/" + r.To.String()), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *DateRange) UnmarshalYAML(n *yaml.Node) error { return scalarText(n, r) }

// Contains reports whether d lies in the range, ends included.
func (r DateRange) Contains(d Date) bool { return !d.Before(r.From) && !r.To.Before(d) }

// DayOpen reports whether the window sends at all on date d, for a prospect
// of country (ISO 3166 alpha-2, any case; "" when unknown): d's weekday is
// one of the window's days, d is no public holiday in any of its calendars
// ("prospect" reads country's calendar, none when country is "" or has no
// calendar), and no closure holds d. A nil window is open every day.
//
// It is what R2 asks of a day; the clock times are WindowStart's part.
func (w *Window) DayOpen(d Date, country string) bool {
	if w == nil {
		return true
	}
	if !w.Allows(d.Weekday()) {
		return false
	}
	_, closed := w.Closure(d)
	_, holiday := w.Holiday(d, country)
	return !closed && !holiday
}

// Holiday names the holiday that closes the window on d, with its country
// ("Pasquetta (it)"), when there is one.
func (w *Window) Holiday(d Date, country string) (string, bool) {
	if w == nil {
		return "", false
	}
	for _, c := range w.Holidays {
		if c == HolidaysProspect {
			c = strings.ToLower(country)
		}
		if name, ok := holidayOn(c, d); ok {
			return fmt.Sprintf("%s (%s)", name, c), true
		}
	}
	return "", false
}

// Closure is the closure that holds d, when one does.
func (w *Window) Closure(d Date) (DateRange, bool) {
	if w == nil {
		return DateRange{}, false
	}
	for _, r := range w.Closed {
		if r.Contains(d) {
			return r, true
		}
	}
	return DateRange{}, false
}

// MaxSearchDays is how many days ahead a window's next open day is looked
// for (NextOpenDay, and R2's search): two years and a week, so that
// closures (at most MaxClosedDays each), holidays and weekdays together
// cannot hide a window that opens at all.
const MaxSearchDays = 2*366 + 7

// NextOpenDay is the first date at or after d on which DayOpen holds,
// looked for up to MaxSearchDays ahead: false when there is none in that
// time.
func (w *Window) NextOpenDay(d Date, country string) (Date, bool) {
	for range MaxSearchDays {
		if w.DayOpen(d, country) {
			return d, true
		}
		d = d.AddDays(1)
	}
	return Date{}, false
}

// UsesProspectCountry reports whether the window reads the prospect's own
// calendar, so that the caller needs its country.
func (w *Window) UsesProspectCountry() bool {
	if w == nil {
		return false
	}
	for _, c := range w.Holidays {
		if c == HolidaysProspect {
			return true
		}
	}
	return false
}

// ProspectCountry is the country whose calendar "holidays: prospect" reads
// for a prospect: its own country field when set, else the country of its
// time zone (IANA name), else "".
func ProspectCountry(country, timezone string) string {
	if c := strings.ToLower(strings.TrimSpace(country)); c != "" {
		return c
	}
	return CountryOfZone(timezone)
}

// CountryOfZone is the lower-case ISO 3166 alpha-2 code of the country
// that the IANA time zone lies in ("Europe/Rome" → "it", and old names like
// "Poland" → "pl"), or "" for zones of no country (UTC, Etc/GMT+1) and
// unknown names.
func CountryOfZone(zone string) string { return zoneCountry[zone] }

// HasCalendar reports whether drip knows country's public holidays.
func HasCalendar(country string) bool {
	_, ok := countryCalendars[strings.ToLower(country)]
	return ok
}

// Calendars lists the country codes drip has holidays for.
func Calendars() []string {
	out := make([]string, 0, len(countryCalendars))
	for c := range countryCalendars {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// holidayYears caches each country's holidays of one year, by date: the
// window asks about the same few years all the time.
var holidayYears sync.Map // yearKey → map[Date]string

type yearKey struct {
	country string
	year    int
}

func holidayOn(country string, d Date) (string, bool) {
	hs, ok := countryCalendars[country]
	if !ok {
		return "", false
	}
	key := yearKey{country, d.Year}
	v, ok := holidayYears.Load(key)
	if !ok {
		days := map[Date]string{}
		// The day itself, and the day it is observed on when the country
		// moves it off a weekend (the day people are off), which can lie
		// in the year before or after (1 January observed on 31 December).
		for _, y := range []int{d.Year - 1, d.Year, d.Year + 1} {
			for _, h := range hs {
				actual, observed := h.Calc(y)
				for _, t := range []time.Time{actual, observed} {
					if _, dup := days[DateOf(t)]; !t.IsZero() && t.Year() == d.Year && !dup {
						days[DateOf(t)] = h.Name
					}
				}
			}
		}
		v, _ = holidayYears.LoadOrStore(key, days)
	}
	name, ok := v.(map[Date]string)[d]
	return name, ok
}

func (w *Window) validateHolidays(src *source, ps *Problems) {
	seen := map[string]bool{}
	for i, c := range w.Holidays {
		p := fmt.Sprintf("window.holidays[%d]", i)
		if !src.has(p) {
			p = "window.holidays" // written as one value
		}
		switch {
		case c == HolidaysProspect:
		case c == "":
			src.problem(ps, p, "empty: use a country code, e.g. it, or prospect")
			continue
		case !HasCalendar(c):
			hint := ""
			if c == "uk" {
				hint = ` (did you mean "gb"?)`
			} else if best := suggest.Closest(c, []string{HolidaysProspect}); best != "" && len(c) > 2 {
				hint = fmt.Sprintf(" (did you mean %q?)", best)
			}
			src.problem(ps, p, "no holiday calendar for %q%s; known: %s, or prospect", c, hint, strings.Join(Calendars(), ", "))
			continue
		}
		if seen[c] {
			src.problem(ps, p, "%q is listed twice", c)
		}
		seen[c] = true
	}
	for i, r := range w.Closed {
		for j := range i {
			if o := w.Closed[j]; !r.To.Before(o.From) && !o.To.Before(r.From) {
				src.problem(ps, fmt.Sprintf("window.closed[%d]", i), "overlaps window.closed[%d] (%s/%s); merge them", j, o.From, o.To)
				break
			}
		}
	}
}
