package sequencer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

// The gauges carry the forecast of what the store plans: maria's 100
// sends due against 60, piotr's none, and every sending domain's Gmail
// day, 0 when nothing goes there.
func TestCapacityGauges(t *testing.T) {
	ctx := context.Background()
	st := testrig.Open(t, testrig.SQLiteURL(t))
	pace := &configs.Pace{Min: configs.Span{Dur: 2 * time.Minute}, Max: configs.Span{Dur: 4 * time.Minute}}
	cfg := capConfig(tueThu(), pace, 0, configs.Span{Days: 10}, 60)
	cfg.Senders[1].From = "Piotr <piotr@example.pl>"
	for i := range 100 {
		p := store.Prospect{Email: fmt.Sprintf("p%d@gmail.com", i), CreatedAt: capMonday}
		if _, err := st.ProspectUpsert(ctx, &p); err != nil {
			t.Fatal(err)
		}
		next := capMonday.Add(time.Duration(i) * time.Hour)
		e := store.Enrollment{ProspectID: p.ID, Sequence: "trade-fair", Sender: "maria", FirstContact: capMonday,
			NextSendAt: &next, CreatedAt: capMonday}
		if _, err := st.EnrollmentCreate(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	NewCapacityGauges(reg, st, testrig.NewClock(capMonday), cfg, time.Minute)
	want := `
# HELP drip_sender_capacity_7d What the sender can send in the next 7 days; -1 when nothing limits it.
# TYPE drip_sender_capacity_7d gauge
drip_sender_capacity_7d{sender="maria"} 60
drip_sender_capacity_7d{sender="piotr"} -1
# HELP drip_sender_due_7d Sends due in the next 7 days from the sender, past-due ones included.
# TYPE drip_sender_due_7d gauge
drip_sender_due_7d{sender="maria"} 100
drip_sender_due_7d{sender="piotr"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "drip_sender_capacity_7d", "drip_sender_due_7d"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(gaugeOf(t, reg, "drip_sender_capacity_ratio", "maria")); got < 1.66 || got > 1.67 {
		t.Errorf("maria's ratio %v, want 100/60", got)
	}
	if got := testutil.ToFloat64(gaugeOf(t, reg, "drip_gmail_daily_planned", "example.com")); got != 24 {
		t.Errorf("example.com's busiest Gmail day %v, want 24 (one an hour)", got)
	}
	if got := testutil.ToFloat64(gaugeOf(t, reg, "drip_gmail_daily_planned", "example.pl")); got != 0 {
		t.Errorf("example.pl's Gmail day %v, want 0", got)
	}
}

// gaugeOf is the one series of name with the given label value, as a
// collector testutil can read.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name, label string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == label {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name})
				g.Set(m.GetGauge().GetValue())
				return g
			}
		}
	}
	t.Fatalf("no %s{%q}", name, label)
	return nil
}
