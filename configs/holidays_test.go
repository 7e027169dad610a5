package configs

import (
	"strings"
	"testing"
	"time"
)

func date(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The public holidays of Italy and Poland, as a rep there would list them,
// close an every-day window; the working days around them stay open.
func TestDayOpenItalianAndPolishHolidays(t *testing.T) {
	it := &Window{Holidays: Holidays{"it"}}
	pl := &Window{Holidays: Holidays{"pl"}}
	both := &Window{Holidays: Holidays{"it", "pl"}}
	for _, tc := range []struct {
		day    string
		it, pl bool // open in the Italian, the Polish calendar
		name   string
	}{
		{"2026-01-01", false, false, "Capodanno"},
		{"2026-01-06", false, false, "Epifania"},
		{"2026-04-06", false, false, "Pasquetta"}, // Easter Monday 2026
		{"2026-04-07", true, true, ""},
		{"2027-03-29", false, false, "Pasquetta"}, // Easter Monday 2027
		{"2026-04-25", false, true, "Festa della Liberazione"},
		{"2026-05-01", false, false, "Festa del Lavoro"},
		{"2026-05-02", true, true, ""},
		{"2026-05-03", true, false, ""}, // Święto Konstytucji 3 Maja
		{"2026-06-02", false, true, "Festa della Repubblica"},
		{"2026-06-04", true, false, ""}, // Boże Ciało 2026 (Easter + 60)
		{"2027-05-27", true, false, ""}, // Boże Ciało 2027
		{"2026-08-14", true, true, ""},
		{"2026-08-15", false, false, "Assunzione"}, // Ferragosto
		{"2026-10-04", false, true, "San Francesco d'Assisi"},
		{"2026-11-01", false, false, "Tutti i santi"},
		{"2026-11-11", true, false, ""}, // Narodowe Święto Niepodległości
		{"2026-12-08", false, true, "Immacolata Concezione"},
		{"2026-12-24", true, false, ""}, // Wigilia, a Polish holiday since 2025
		{"2024-12-24", true, true, ""},  // but not before
		{"2026-12-25", false, false, "Natale"},
		{"2026-12-26", false, false, "Santo Stefano"},
		{"2026-12-28", true, true, ""},
	} {
		d := date(t, tc.day)
		if got := it.DayOpen(d, ""); got != tc.it {
			t.Errorf("%s in the Italian calendar: open=%v, want %v", tc.day, got, tc.it)
		}
		if got := pl.DayOpen(d, ""); got != tc.pl {
			t.Errorf("%s in the Polish calendar: open=%v, want %v", tc.day, got, tc.pl)
		}
		if got := both.DayOpen(d, ""); got != (tc.it && tc.pl) {
			t.Errorf("%s in [it, pl]: open=%v, want %v", tc.day, got, tc.it && tc.pl)
		}
		if name, ok := it.Holiday(d, ""); ok != !tc.it || (ok && name != tc.name+" (it)") {
			t.Errorf("%s: Italian holiday %q, %v; want %q", tc.day, name, ok, tc.name)
		}
	}
}

// "prospect" reads the calendar of the country it is given, and none for
// an unknown one.
func TestDayOpenProspectCalendar(t *testing.T) {
	w := &Window{Holidays: Holidays{HolidaysProspect}}
	for _, tc := range []struct {
		day, country string
		open         bool
	}{
		{"2026-11-11", "pl", false},
		{"2026-11-11", "PL", false},
		{"2026-11-11", "it", true},
		{"2026-08-15", "it", false},
		{"2026-08-15", "", true},   // no country known: no calendar
		{"2026-08-15", "zz", true}, // a country without a calendar
		{"2026-07-04", "us", false},
	} {
		if got := w.DayOpen(date(t, tc.day), tc.country); got != tc.open {
			t.Errorf("%s for a prospect in %q: open=%v, want %v", tc.day, tc.country, got, tc.open)
		}
	}
	if !w.UsesProspectCountry() || (&Window{Holidays: Holidays{"it"}}).UsesProspectCountry() {
		t.Error("UsesProspectCountry is wrong")
	}
}

// Closures are inclusive; weekdays still count; a nil window is always open.
func TestDayOpenClosuresAndWeekdays(t *testing.T) {
	var august, xmas DateRange
	must(t, august.UnmarshalText([]byte("2026-08-10/2026-08-21")))
	must(t, xmas.UnmarshalText([]byte("2026-12-24")))
	w := &Window{Days: []Weekday{Weekday(time.Tuesday), Weekday(time.Wednesday), Weekday(time.Thursday)},
		Holidays: Holidays{"it"}, Closed: []DateRange{august, xmas}}
	for _, tc := range []struct {
		day  string
		open bool
	}{
		{"2026-08-06", true},  // Thursday before the closure
		{"2026-08-10", false}, // Monday: no window day anyway
		{"2026-08-11", false}, // Tuesday, first week of the closure
		{"2026-08-20", false}, // Thursday, last week
		{"2026-08-21", false}, // its last day (a Friday)
		{"2026-08-25", true},  // Tuesday after
		{"2026-12-23", true},
		{"2026-12-24", false}, // one-day closure
		{"2026-12-22", true},
		{"2026-12-29", true},
	} {
		if got := w.DayOpen(date(t, tc.day), ""); got != tc.open {
			t.Errorf("%s: open=%v, want %v", tc.day, got, tc.open)
		}
	}
	if next, ok := w.NextOpenDay(date(t, "2026-08-07"), ""); !ok || next != date(t, "2026-08-25") {
		t.Errorf("NextOpenDay after the Thursday before the closure = %s, %v; want 2026-08-25", next, ok)
	}
	// Santo Stefano (Sat 26) and Christmas (Fri 25) fall off the window;
	// the Tuesday after is open.
	if next, ok := w.NextOpenDay(date(t, "2026-12-24"), ""); !ok || next != date(t, "2026-12-29") {
		t.Errorf("NextOpenDay from Christmas Eve = %s, %v; want 2026-12-29", next, ok)
	}
	if r, ok := w.Closure(date(t, "2026-08-15")); !ok || r != august {
		t.Errorf("Closure(2026-08-15) = %v, %v", r, ok)
	}
	var nilWindow *Window
	if !nilWindow.DayOpen(date(t, "2026-12-25"), "it") {
		t.Error("no window: every day is open")
	}
}

func TestDateRangeText(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "2026-08-10/2026-08-21", want: "2026-08-10/2026-08-21"},
		{in: " 2026-12-24 ", want: "2026-12-24"},
		{in: "2026-12-24/2026-12-24", want: "2026-12-24"},
		{in: "2026-08-21/2026-08-10", err: "ends before it begins"},
		{in: "2026-02-30", err: "invalid date"},
		{in: "10/08/2026", err: "invalid date"},
		{in: "2026-08-10/", err: "invalid date"},
		{in: "2026-01-01/2027-12-31", err: "at most 366"},
	} {
		var r DateRange
		err := r.UnmarshalText([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one with %q", tc.in, err, tc.err)
			}
			continue
		}
		out, _ := r.MarshalText()
		if err != nil || string(out) != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.in, out, err, tc.want)
		}
	}
}

func TestCountryOfZone(t *testing.T) {
	for zone, want := range map[string]string{
		"Europe/Rome": "it", "Europe/Warsaw": "pl", "Poland": "pl", "Europe/Vatican": "va",
		"Europe/Kiev": "ua", "Europe/Kyiv": "ua", "America/New_York": "us", "US/Eastern": "us",
		"Europe/London": "gb", "Africa/Asmera": "er",
		"UTC": "", "Etc/GMT+1": "", "CET": "", "Mars/Olympus": "",
	} {
		if got := CountryOfZone(zone); got != want {
			t.Errorf("CountryOfZone(%q) = %q, want %q", zone, got, want)
		}
	}
	if got := ProspectCountry(" PL ", "Europe/Rome"); got != "pl" {
		t.Errorf("the country field wins over the zone: got %q", got)
	}
	if got := ProspectCountry("", "Europe/Rome"); got != "it" {
		t.Errorf("no country: the zone's; got %q", got)
	}
}

// Every shipped calendar computes its years without a panic, and each has
// some holidays every year.
func TestEveryCalendarComputes(t *testing.T) {
	for _, c := range Calendars() {
		w := &Window{Holidays: Holidays{c}}
		for y := 2020; y <= 2040; y++ {
			closed := 0
			for d := (Date{y, 1, 1}); d.Year == y; d = d.AddDays(1) {
				if !w.DayOpen(d, "") {
					closed++
				}
			}
			if closed == 0 {
				t.Errorf("%s has no holiday in %d", c, y)
			}
		}
	}
}

const holidaySequence = `name: fair
steps: 3
interval: 10d
first_step_after: 0
timezone: Europe/Rome
window:
  days: [tue, wed, thu]
  from: "09:30"
  to: "10:30"
  holidays: HOLIDAYS
  closed: CLOSED
templates: fair
`

func holidayFixture(t *testing.T, holidays, closed string) *fixture {
	seq := strings.NewReplacer("HOLIDAYS", holidays, "CLOSED", closed).Replace(holidaySequence)
	return newFixture(t, goodConfig, map[string]string{"fair": seq})
}

func TestLoadHolidaysAndClosures(t *testing.T) {
	f := holidayFixture(t, "[it, PL]", `["2026-08-10/2026-08-21", "2026-12-24"]`)
	c, err := Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Sequences["fair"].Window
	if len(w.Holidays) != 2 || w.Holidays[1] != "pl" || len(w.Closed) != 2 || w.Closed[0].To != (Date{2026, 8, 21}) {
		t.Fatalf("window = %+v", w)
	}
	if w.DayOpen(Date{2026, 11, 11}, "") || w.DayOpen(Date{2026, 8, 12}, "") || !w.DayOpen(Date{2026, 8, 25}, "") {
		t.Error("loaded window does not close on Polish holidays and closures")
	}

	f = holidayFixture(t, "prospect", "[]")
	c, err = Load(f.file)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Sequences["fair"].Window; !w.UsesProspectCountry() || w.DayOpen(Date{2026, 12, 8}, "it") || !w.DayOpen(Date{2026, 12, 8}, "pl") {
		t.Errorf("holidays: prospect = %+v", w)
	}
}

func TestHolidayAndClosureProblemsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		holidays, closed, want string
	}{
		{"[it, xx]", "[]", `:10: window.holidays[1]: no holiday calendar for "xx"; known: ar, at,`},
		{"[it, uk]", "[]", `:10: window.holidays[1]: no holiday calendar for "uk" (did you mean "gb"?)`},
		{"prospekt", "[]", `:10: window.holidays: no holiday calendar for "prospekt" (did you mean "prospect"?)`},
		{"[it, it]", "[]", `:10: window.holidays[1]: "it" is listed twice`},
		{"[it]", `["2026-08-21/2026-08-10"]`, `:11: window.closed[0]: closure "2026-08-21/2026-08-10" ends before it begins`},
		{"[it]", `["2026-08-10", "2026-13-01"]`, `:11: window.closed[1]: closure "2026-13-01": invalid date "2026-13-01" (use YYYY-MM-DD)`},
		{"[it]", `["2026-08-10/2026-08-21", "2026-08-20/2026-08-31"]`, `:11: window.closed[1]: overlaps window.closed[0] (2026-08-10/2026-08-21)`},
		{"{it: true}", "[]", `:10: window.holidays: expected a list of country codes`},
	} {
		f := holidayFixture(t, tc.holidays, tc.closed)
		wantProblem(t, problems(t, f.file), f.seqFile("fair")+tc.want)
	}
}
