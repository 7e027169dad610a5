package sequencer

import (
	"math"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
)

// The capacity forecast: for each sender, the sends due in the next days
// against what its windows, pace, daily limit, holidays and holds let it
// send in them. A pure function of the configuration, the planned sends
// and now, so a test walks a week in a millisecond.

// DefaultHorizon is how far the forecast looks: a week holds every
// weekday of a window once.
const DefaultHorizon = 7 * 24 * time.Hour

// Gmail's bulk-sender threshold: a sending domain that sends about 5,000
// messages a day to personal Gmail accounts (gmail.com, googlemail.com)
// must meet Google's bulk-sender rules (SPF, DKIM, DMARC alignment, RFC
// 8058 one-click, spam rate under 0.3 %), and is a bulk sender for good
// once it did. The forecast warns from GmailWarnAt on.
const (
	GmailBulkThreshold = 5000
	GmailWarnAt        = 4000
)

// CapacityParams is what Forecast reads.
type CapacityParams struct {
	Config  *configs.Config
	Planned []store.Planned // store.EnrollmentsPlanned(now + Horizon)
	Now     time.Time
	Horizon time.Duration // 0: DefaultHorizon
	// SentToday is each sender's sends begun today, in its time zone: they
	// count against today's daily limit.
	SentToday map[string]int
	// HeldUntil is each held sender's hold end: it sends nothing before.
	HeldUntil map[string]time.Time
}

// SenderCapacity is one sender's forecast.
type SenderCapacity struct {
	Sender string
	// Due is the sends planned in the horizon, past-due ones included
	// (they are due now), with the later steps of short-interval
	// sequences that fall in it.
	Due int
	// Capacity is what the sender can send in the horizon; -1 when
	// nothing limits it (no pace, no daily limit).
	Capacity int
	// Ratio is Due/Capacity: above 1 the sends fall behind. 0 with no
	// limit; +Inf when the sender can send nothing and has sends due.
	Ratio float64
	// OpenHours is the time its windows are open in the horizon, outside
	// holidays, closures and holds.
	OpenHours float64
}

// Over reports that more is due than the sender can send.
func (c SenderCapacity) Over() bool { return c.Capacity >= 0 && c.Due > c.Capacity }

// GmailVolume is one sending domain's busiest planned day to Gmail.
type GmailVolume struct {
	Domain  string // the senders' From domain
	Day     configs.Date
	Planned int // messages planned to gmail.com and googlemail.com that day
}

// Warn reports a day near or over Gmail's bulk-sender threshold.
func (g GmailVolume) Warn() bool { return g.Planned >= GmailWarnAt }

// window is one sequence's window as a sender sees it.
type capWindow struct {
	w       *configs.Window
	loc     *time.Location
	country string // for holidays: prospect, the country of the sequence's zone
}

func (cw capWindow) open(t time.Time) bool {
	if cw.w == nil {
		return true
	}
	local := t.In(cw.loc)
	if !cw.w.DayOpen(configs.DateOf(local), cw.country) {
		return false
	}
	m := configs.TimeOfDay(local.Hour()*60 + local.Minute())
	return m >= cw.w.From && m < cw.w.To
}

// Forecast returns one SenderCapacity per configured sender, in the
// configuration's order, and the busiest Gmail day of each sending
// domain that has any, by domain.
func Forecast(p CapacityParams) ([]SenderCapacity, []GmailVolume) {
	cfg := p.Config
	horizon := p.Horizon
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	start := p.Now
	end := start.Add(horizon)
	def := ""
	if d := cfg.DefaultSender(); d != nil {
		def = d.Name
	}

	type senderData struct {
		due  int
		seqs map[string]bool
	}
	data := map[string]*senderData{}
	for i := range cfg.Senders {
		data[cfg.Senders[i].Name] = &senderData{seqs: map[string]bool{}}
	}
	locs, domains := map[string]*time.Location{}, map[string]string{}
	for i := range cfg.Senders {
		s := &cfg.Senders[i]
		locs[s.Name], domains[s.Name] = senderLoc(s), senderDomain(s)
	}
	gmail := map[string]map[configs.Date]int{} // sending domain → day → count
	for _, pl := range p.Planned {
		name := pl.Sender
		if name == "" {
			name = def
		}
		d, ok := data[name]
		if !ok {
			continue // a sender no longer configured: held by the engine
		}
		d.seqs[pl.Sequence] = true
		times := plannedTimes(pl, cfg.Sequences[pl.Sequence], start, end)
		d.due += len(times)
		if rd := strings.ToLower(pl.RecipientDomain); rd == "gmail.com" || rd == "googlemail.com" {
			dom, loc := domains[name], locs[name]
			if gmail[dom] == nil {
				gmail[dom] = map[configs.Date]int{}
			}
			for _, t := range times {
				gmail[dom][configs.DateOf(t.In(loc))]++
			}
		}
	}

	out := make([]SenderCapacity, 0, len(cfg.Senders))
	for i := range cfg.Senders {
		s := &cfg.Senders[i]
		d := data[s.Name]
		names := make([]string, 0, len(d.seqs))
		for n := range d.seqs {
			names = append(names, n)
		}
		if len(names) == 0 {
			names = cfg.SequenceNames() // nothing planned: any of them may send
		}
		var windows []capWindow
		for _, n := range names {
			seq := cfg.Sequences[n]
			if seq == nil {
				continue
			}
			loc := seq.Location
			if loc == nil {
				loc = time.UTC
			}
			windows = append(windows, capWindow{w: seq.Window, loc: loc, country: configs.CountryOfZone(seq.Timezone)})
		}
		c := senderCapacity(s, windows, start, end, p.SentToday[s.Name], p.HeldUntil[s.Name])
		c.Due = d.due
		switch {
		case c.Capacity < 0:
		case c.Capacity == 0 && c.Due > 0:
			c.Ratio = math.Inf(1)
		case c.Capacity > 0:
			c.Ratio = float64(c.Due) / float64(c.Capacity)
		}
		out = append(out, c)
	}

	var vols []GmailVolume
	for dom, days := range gmail {
		best := GmailVolume{Domain: dom}
		for day, n := range days {
			if n > best.Planned || (n == best.Planned && day.Before(best.Day)) {
				best.Day, best.Planned = day, n
			}
		}
		vols = append(vols, best)
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].Domain < vols[j].Domain })
	return out, vols
}

// plannedTimes are the sends of one enrollment in [start, end): its next
// one (now, when past due), then its later steps at the sequence's
// interval from it, as far as its steps go. Later steps are placed at
// the interval without their windows: close enough for a forecast.
func plannedTimes(pl store.Planned, seq *configs.Sequence, start, end time.Time) []time.Time {
	first := pl.At
	if first.Before(start) {
		first = start
	}
	if !first.Before(end) {
		return nil
	}
	out := []time.Time{first}
	if seq == nil || seq.Interval.Approx() <= 0 {
		return out
	}
	for k := 1; pl.LastStep+1+k <= seq.Steps; k++ {
		t := pl.At.Add(time.Duration(k) * seq.Interval.Approx())
		if !t.Before(end) {
			break
		}
		if t.Before(start) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// senderCapacity walks the horizon minute by minute: a minute counts when
// the sender is not held and one of its windows is open. Each day of the
// sender (its time zone, where its daily limit restarts) can send
// min(open time / mean pace gap, daily limit), today's limit less what it
// already sent.
func senderCapacity(s *configs.Sender, windows []capWindow, start, end time.Time, sentToday int, heldUntil time.Time) SenderCapacity {
	c := SenderCapacity{Sender: s.Name}
	loc := senderLoc(s)
	today := configs.DateOf(start.In(loc))
	open := map[configs.Date]int{} // minutes
	var days []configs.Date
	for t := start.Truncate(time.Minute); t.Before(end); t = t.Add(time.Minute) {
		if t.Before(heldUntil) {
			continue
		}
		for _, w := range windows {
			if w.open(t) {
				day := configs.DateOf(t.In(loc))
				if open[day] == 0 {
					days = append(days, day)
				}
				open[day]++
				break
			}
		}
	}
	gap := s.Pace.Mean()
	if gap <= 0 && s.DailyLimit <= 0 {
		c.Capacity = -1
	}
	total := 0
	for _, day := range days {
		c.OpenHours += float64(open[day]) / 60
		if c.Capacity < 0 {
			continue
		}
		n := math.MaxInt
		if gap > 0 {
			n = int(time.Duration(open[day]) * time.Minute / gap)
		}
		if s.DailyLimit > 0 {
			limit := s.DailyLimit
			if day == today {
				limit = max(0, limit-sentToday)
			}
			n = min(n, limit)
		}
		total += n
	}
	if c.Capacity == 0 {
		c.Capacity = total
	}
	return c
}

func senderLoc(s *configs.Sender) *time.Location {
	if s != nil {
		if loc, err := time.LoadLocation(s.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func senderDomain(s *configs.Sender) string {
	if s == nil {
		return ""
	}
	a, err := mail.ParseAddress(s.From)
	if err != nil {
		return ""
	}
	_, dom, _ := strings.Cut(a.Address, "@")
	return strings.ToLower(dom)
}
