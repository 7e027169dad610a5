package configs_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the machine's zoneinfo

	"github.com/drip-email/drip/configs"
)

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in      string
		want    configs.Span
		wantErr string // substring of the error; "" = no error
	}{
		{in: "10d", want: configs.Span{Days: 10}},
		{in: "2w", want: configs.Span{Days: 14}},
		{in: "1w2d", want: configs.Span{Days: 9}},
		{in: "1d12h", want: configs.Span{Days: 1, Dur: 12 * time.Hour}},
		{in: "90m", want: configs.Span{Dur: 90 * time.Minute}},
		{in: "2s", want: configs.Span{Dur: 2 * time.Second}},
		{in: "0", want: configs.Span{}},
		{in: " 10d ", want: configs.Span{Days: 10}},
		{in: "", wantErr: "empty duration"},
		{in: "ten days", wantErr: `invalid duration "ten days"`},
		{in: "10", wantErr: "invalid duration"},   // a bare number has no unit
		{in: "1.5d", wantErr: "invalid duration"}, // days are whole
		{in: "12h1d", wantErr: "invalid duration"},
		{in: "-1h", wantErr: "negative"},
		{in: "-3d", wantErr: "invalid duration"},
		{in: "100001d", wantErr: "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := configs.ParseSpan(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpan(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpan(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSpanTextRoundTrip(t *testing.T) {
	for _, in := range []string{"10d", "1d12h0m0s", "2s", "0", "14d"} {
		var s configs.Span
		if err := s.UnmarshalText([]byte(in)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", in, err)
		}
		out, _ := s.MarshalText()
		if string(out) != in {
			t.Errorf("%q read back as %q", in, out)
		}
	}
	var s configs.Span
	if err := s.UnmarshalText([]byte("2w")); err != nil || s.String() != "14d" {
		t.Errorf(`"2w" = %q, %v; want "14d"`, s.String(), err)
	}
}

func TestSequenceGap(t *testing.T) {
	seq := &configs.Sequence{Interval: configs.Span{Days: 10}}
	if got := seq.Gap(); got != 5*24*time.Hour {
		t.Errorf("default min_gap = %v, want half of 10d = 120h", got)
	}
	seq.MinGap = &configs.Span{Days: 1, Dur: 6 * time.Hour}
	if got := seq.Gap(); got != 30*time.Hour {
		t.Errorf("min_gap 1d6h = %v, want 30h", got)
	}
	zero := configs.Span{}
	seq.MinGap = &zero
	if got := seq.Gap(); got != 0 {
		t.Errorf("min_gap 0 = %v, want no gap", got)
	}
}

func TestWeekdayText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Weekday
		wantErr bool
	}{
		{in: "mon", want: time.Monday},
		{in: "Tuesday", want: time.Tuesday},
		{in: "WED", want: time.Wednesday},
		{in: " sun ", want: time.Sunday},
		{in: "sat", want: time.Saturday},
		{in: "mo", wantErr: true},
		{in: "lun", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var w configs.Weekday
			err := w.UnmarshalText([]byte(tt.in))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "mon, tue") {
					t.Fatalf("%q = %v, %v; want an error listing the weekdays", tt.in, time.Weekday(w), err)
				}
				return
			}
			if err != nil || time.Weekday(w) != tt.want {
				t.Fatalf("%q = %v, %v; want %v", tt.in, time.Weekday(w), err, tt.want)
			}
			out, _ := w.MarshalText()
			if want := strings.ToLower(tt.want.String()[:3]); string(out) != want {
				t.Errorf("%q written back as %q, want %q", tt.in, out, want)
			}
		})
	}
}

func TestTimeOfDayText(t *testing.T) {
	tests := []struct {
		in      string
		want    string // as written back; "" = an error
		minutes int
	}{
		{in: "09:30", want: "09:30", minutes: 570},
		{in: "9:30", want: "09:30", minutes: 570},
		{in: "00:00", want: "00:00", minutes: 0},
		{in: "24:00", want: "24:00", minutes: 1440}, // a window may run to midnight
		{in: "23:59", want: "23:59", minutes: 1439},
		{in: "24:01"},
		{in: "25:00"},
		{in: "09:60"},
		{in: "0930"},
		{in: "09:30:00"},
		{in: "-1:30"},
		{in: "9am"},
		{in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var tod configs.TimeOfDay
			err := tod.UnmarshalText([]byte(tt.in))
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "HH:MM") {
					t.Fatalf("%q = %v, %v; want an error saying HH:MM", tt.in, tod, err)
				}
				return
			}
			if err != nil || int(tod) != tt.minutes || tod.String() != tt.want {
				t.Fatalf("%q = %v (%d min), %v; want %s (%d min)", tt.in, tod, int(tod), err, tt.want, tt.minutes)
			}
			if tod.Hour()*60+tod.Minute() != tt.minutes {
				t.Errorf("%q: Hour %d Minute %d do not make %d minutes", tt.in, tod.Hour(), tod.Minute(), tt.minutes)
			}
		})
	}
}

func TestSpanAddTo(t *testing.T) {
	rome := mustLoad(t, "Europe/Rome")
	ny := mustLoad(t, "America/New_York")
	tests := []struct {
		name    string
		span    configs.Span
		from    time.Time
		loc     *time.Location
		want    time.Time
		elapsed time.Duration // checked when not 0: shows a DST change was crossed
	}{
		{
			name: "10 days across Rome's spring forward keep midnight local (239 hours)",
			span: configs.Span{Days: 10}, loc: rome,
			from:    time.Date(2026, 3, 20, 0, 0, 0, 0, rome),
			want:    time.Date(2026, 3, 30, 0, 0, 0, 0, rome),
			elapsed: 239 * time.Hour,
		},
		{
			name: "10 days across Rome's fall back keep 09:30 local (241 hours)",
			span: configs.Span{Days: 10}, loc: rome,
			from:    time.Date(2026, 10, 20, 9, 30, 0, 0, rome),
			want:    time.Date(2026, 10, 30, 9, 30, 0, 0, rome),
			elapsed: 241 * time.Hour,
		},
		{
			name: "10 days across New York's spring forward keep 09:30 local",
			span: configs.Span{Days: 10}, loc: ny,
			from:    time.Date(2026, 3, 1, 9, 30, 0, 0, ny),
			want:    time.Date(2026, 3, 11, 9, 30, 0, 0, ny),
			elapsed: 239 * time.Hour,
		},
		{
			name: "the days are counted in the zone given, not the time's own",
			span: configs.Span{Days: 10}, loc: ny,
			from:    time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC), // 09:30 in New York
			want:    time.Date(2026, 3, 11, 9, 30, 0, 0, ny),
			elapsed: 239 * time.Hour,
		},
		{
			name: "hours are elapsed time: 12h across spring forward ends at 09:00 local, not 08:00",
			span: configs.Span{Dur: 12 * time.Hour}, loc: rome,
			from:    time.Date(2026, 3, 28, 20, 0, 0, 0, rome),
			want:    time.Date(2026, 3, 29, 9, 0, 0, 0, rome),
			elapsed: 12 * time.Hour,
		},
		{
			name: "days first, then hours: 1d12h from Saturday noon across spring forward",
			span: configs.Span{Days: 1, Dur: 12 * time.Hour}, loc: rome,
			from:    time.Date(2026, 3, 28, 12, 0, 0, 0, rome),
			want:    time.Date(2026, 3, 30, 0, 0, 0, 0, rome),
			elapsed: 35 * time.Hour,
		},
		{
			name: "a clock time lost to Rome's spring forward becomes the jump, 03:00",
			span: configs.Span{Days: 10}, loc: rome,
			from: time.Date(2026, 3, 19, 2, 30, 0, 0, rome),
			want: time.Date(2026, 3, 29, 3, 0, 0, 0, rome),
		},
		{
			// time.Date alone gives 01:30 EST here, half an hour before the lost time.
			name: "a clock time lost to New York's spring forward becomes the jump, 03:00",
			span: configs.Span{Days: 10}, loc: ny,
			from: time.Date(2026, 2, 26, 2, 30, 0, 0, ny),
			want: time.Date(2026, 3, 8, 3, 0, 0, 0, ny),
		},
		{
			name: "zero span leaves the time alone",
			span: configs.Span{}, loc: rome,
			from: time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC),
			want: time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.span.AddTo(tt.from, tt.loc)
			if !got.Equal(tt.want) {
				t.Fatalf("%v + %v = %v, want %v", tt.from.In(tt.loc), tt.span, got.In(tt.loc), tt.want)
			}
			if tt.elapsed != 0 && got.Sub(tt.from) != tt.elapsed {
				t.Errorf("elapsed %v, want %v", got.Sub(tt.from), tt.elapsed)
			}
		})
	}
}

func TestWindowAllows(t *testing.T) {
	w := configs.Window{Days: []configs.Weekday{configs.Weekday(time.Tuesday), configs.Weekday(time.Thursday)}}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if want := d == time.Tuesday || d == time.Thursday; w.Allows(d) != want {
			t.Errorf("tue,thu window allows %v = %v", d, !want)
		}
	}
	every := configs.Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if !every.Allows(d) {
			t.Errorf("a window without days refuses %v", d)
		}
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading time zone: %v", err)
	}
	return loc
}
