package sequencer

import (
	"math"
	"testing"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

var capRome, _ = time.LoadLocation("Europe/Rome")

// capMonday is Monday 7 December 2026, 00:00 in Rome: the week holds
// Tuesday 8 December, the Immacolata, an Italian holiday.
var capMonday = time.Date(2026, 12, 7, 0, 0, 0, 0, capRome)

func tueThu() *configs.Window {
	return &configs.Window{Days: []configs.Weekday{configs.Weekday(time.Tuesday), configs.Weekday(time.Wednesday), configs.Weekday(time.Thursday)},
		From: 9*60 + 30, To: 10*60 + 30}
}

func capConfig(w *configs.Window, pace *configs.Pace, daily int, interval configs.Span, steps int) *configs.Config {
	seq := &configs.Sequence{Name: "trade-fair", Steps: steps, Interval: interval, Timezone: "Europe/Rome", Location: capRome, Window: w}
	return &configs.Config{
		Senders: []configs.Sender{
			{Name: "maria", From: "Maria <maria@example.com>", Timezone: "Europe/Rome", DailyLimit: daily, Pace: pace},
			{Name: "piotr", From: "Piotr <piotr@example.com>", Timezone: "Europe/Warsaw"},
		},
		Sequences: map[string]*configs.Sequence{"trade-fair": seq},
	}
}

// spread plans n enrollments of sender at last step 0, one every gap from
// first.
func spread(n int, sender, domain string, first time.Time, gap time.Duration) []store.Planned {
	out := make([]store.Planned, n)
	for i := range out {
		out[i] = store.Planned{Sender: sender, Sequence: "trade-fair", At: first.Add(time.Duration(i) * gap), RecipientDomain: domain}
	}
	return out
}

func TestForecast(t *testing.T) {
	pace := &configs.Pace{Min: configs.Span{Dur: 2 * time.Minute}, Max: configs.Span{Dur: 4 * time.Minute}}
	tenDays := configs.Span{Days: 10}
	withIT := tueThu()
	withIT.Holidays = configs.Holidays{"it"}
	closedWed := tueThu()
	var wed configs.DateRange
	if err := wed.UnmarshalText([]byte("2026-12-09")); err != nil {
		t.Fatal(err)
	}
	closedWed.Closed = []configs.DateRange{wed}
	for _, tc := range []struct {
		name     string
		cfg      *configs.Config
		planned  []store.Planned
		sent     map[string]int
		held     map[string]time.Time
		due, cap int
		openH    float64
	}{
		{name: "no window, no pace, no limit", cfg: capConfig(nil, nil, 0, tenDays, 60),
			planned: spread(50, "maria", "acme.com", capMonday, time.Hour), due: 50, cap: -1, openH: 168},
		// One hour on three days, a send every 3 minutes on average: 60.
		{name: "one-hour Tue-Thu window, pace 2-4m", cfg: capConfig(tueThu(), pace, 0, tenDays, 60),
			planned: spread(100, "maria", "acme.com", capMonday, time.Hour), due: 100, cap: 60, openH: 3},
		{name: "Italian holiday on Tuesday", cfg: capConfig(withIT, pace, 0, tenDays, 60),
			planned: spread(10, "maria", "acme.com", capMonday, time.Hour), due: 10, cap: 40, openH: 2},
		{name: "closure on Wednesday", cfg: capConfig(closedWed, pace, 0, tenDays, 60),
			planned: spread(10, "maria", "acme.com", capMonday, time.Hour), due: 10, cap: 40, openH: 2},
		{name: "daily limit below the pace", cfg: capConfig(tueThu(), pace, 15, tenDays, 60),
			due: 0, cap: 45, openH: 3},
		{name: "daily limit without pace", cfg: capConfig(nil, nil, 100, tenDays, 60),
			due: 0, cap: 700, openH: 168},
		{name: "today's sends count against today's limit", cfg: capConfig(nil, nil, 100, tenDays, 60),
			sent: map[string]int{"maria": 30}, cap: 670, openH: 168},
		{name: "held until Wednesday noon", cfg: capConfig(tueThu(), pace, 0, tenDays, 60),
			held: map[string]time.Time{"maria": capMonday.Add(2*24*time.Hour + 12*time.Hour)}, cap: 20, openH: 1},
		// Past-due sends are due now; a 2-day interval puts more steps of
		// one enrollment in the week, as far as its steps go.
		{name: "past due and short intervals", cfg: capConfig(nil, nil, 0, configs.Span{Days: 2}, 3),
			planned: []store.Planned{
				{Sender: "maria", Sequence: "trade-fair", At: capMonday.Add(-time.Hour)},          // 3 steps: -1h, +2d, +4d
				{Sender: "", Sequence: "trade-fair", At: capMonday.Add(time.Hour), LastStep: 2},   // the default sender; its last step
				{Sender: "maria", Sequence: "trade-fair", At: capMonday.Add(8 * 24 * time.Hour)},  // after the week
				{Sender: "gone", Sequence: "trade-fair", At: capMonday},                           // a sender no longer configured
				{Sender: "maria", Sequence: "removed", At: capMonday.Add(time.Hour), LastStep: 5}, // a sequence no longer configured
			}, due: 5, cap: -1, openH: 168},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caps, _ := Forecast(CapacityParams{Config: tc.cfg, Planned: tc.planned, Now: capMonday, SentToday: tc.sent, HeldUntil: tc.held})
			if len(caps) != 2 || caps[0].Sender != "maria" || caps[1].Sender != "piotr" {
				t.Fatalf("forecast %+v, want maria then piotr", caps)
			}
			c := caps[0]
			if c.Due != tc.due || c.Capacity != tc.cap || math.Abs(c.OpenHours-tc.openH) > 1e-9 {
				t.Errorf("due %d, capacity %d, open %.2fh; want %d, %d, %.2fh", c.Due, c.Capacity, c.OpenHours, tc.due, tc.cap, tc.openH)
			}
			switch {
			case tc.cap < 0 && (c.Ratio != 0 || c.Over()):
				t.Errorf("no limit: ratio %v over %v, want 0, false", c.Ratio, c.Over())
			case tc.cap > 0 && math.Abs(c.Ratio-float64(tc.due)/float64(tc.cap)) > 1e-9:
				t.Errorf("ratio %v, want %v", c.Ratio, float64(tc.due)/float64(tc.cap))
			case tc.cap > 0 && c.Over() != (tc.due > tc.cap):
				t.Errorf("Over() = %v with due %d of %d", c.Over(), tc.due, tc.cap)
			}
		})
	}
}

// The acceptance case: 1,000 active enrollments of the 60-step sequence
// (one email every 10 days), enrolled over the last 10 days, on a sender
// with a one-hour Tue–Thu window and pace 2–4 min: about 700 due in the
// week against 60.
func TestForecastThousandEnrollmentsOverflow(t *testing.T) {
	pace := &configs.Pace{Min: configs.Span{Dur: 2 * time.Minute}, Max: configs.Span{Dur: 4 * time.Minute}}
	cfg := capConfig(tueThu(), pace, 400, configs.Span{Days: 10}, 60)
	planned := spread(1000, "maria", "acme.com", capMonday, 10*24*time.Hour/1000)
	caps, _ := Forecast(CapacityParams{Config: cfg, Planned: planned, Now: capMonday})
	c := caps[0]
	if c.Due != 700 || c.Capacity != 60 || !c.Over() || c.Ratio < 11 {
		t.Fatalf("forecast %+v, want 700 due of 60, ratio above 11", c)
	}
	// The sender held for good (its breaker): it can send nothing.
	caps, _ = Forecast(CapacityParams{Config: cfg, Planned: planned, Now: capMonday,
		HeldUntil: map[string]time.Time{"maria": capMonday.Add(100 * 24 * time.Hour)}})
	if c := caps[0]; c.Capacity != 0 || !math.IsInf(c.Ratio, 1) || !c.Over() {
		t.Fatalf("held sender's forecast %+v, want capacity 0 and ratio +Inf", c)
	}
}

func TestForecastGmailVolume(t *testing.T) {
	cfg := capConfig(nil, nil, 0, configs.Span{Days: 10}, 60)
	cfg.Senders = append(cfg.Senders, configs.Sender{Name: "anna", From: "anna@example.com", Timezone: "Europe/Rome"})
	tue := capMonday.Add(24 * time.Hour)
	var planned []store.Planned
	planned = append(planned, spread(2500, "maria", "gmail.com", tue.Add(8*time.Hour), time.Second)...)
	planned = append(planned, spread(1600, "anna", "googlemail.com", tue.Add(9*time.Hour), time.Second)...)
	planned = append(planned, spread(3000, "anna", "acme.com", tue.Add(9*time.Hour), time.Second)...)         // not Gmail
	planned = append(planned, spread(900, "piotr", "gmail.com", capMonday.Add(10*time.Hour), time.Second)...) // also example.com, Monday
	_, vols := Forecast(CapacityParams{Config: cfg, Planned: planned, Now: capMonday})
	if len(vols) != 1 {
		t.Fatalf("volumes %+v, want one sending domain", vols)
	}
	v := vols[0]
	if v.Domain != "example.com" || v.Day != (configs.Date{Year: 2026, Month: 12, Day: 8}) || v.Planned != 4100 || !v.Warn() {
		t.Errorf("volume %+v, want example.com's Tuesday with 4100 planned to Gmail and a warning", v)
	}
	_, vols = Forecast(CapacityParams{Config: cfg, Planned: planned[:2500], Now: capMonday})
	if vols[0].Warn() {
		t.Errorf("2,500 a day to Gmail warns: %+v", vols[0])
	}
}

func BenchmarkForecast(b *testing.B) {
	pace := &configs.Pace{Min: configs.Span{Dur: 2 * time.Minute}, Max: configs.Span{Dur: 4 * time.Minute}}
	w := tueThu()
	w.Holidays = configs.Holidays{"it", "pl"}
	cfg := capConfig(w, pace, 400, configs.Span{Days: 10}, 60)
	planned := spread(100000, "maria", "gmail.com", capMonday, time.Second)
	for b.Loop() {
		Forecast(CapacityParams{Config: cfg, Planned: planned, Now: capMonday})
	}
}
