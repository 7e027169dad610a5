package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
)

// The case: a sender with a one-hour Tue–Thu window, pace 2–4 min
// and 1,000 active enrollments on the 60-step sequence. drip status
// --senders shows due against capacity and the warning with the ways
// out; drip check warns too; the other sender, with nothing planned,
// shows its capacity and no warning.
func TestStatusSendersCapacity(t *testing.T) {
	e := newCLIEnv(t, testrig.SQLiteURL(t))
	writeBoothTemplates(e)
	cfg, _ := os.ReadFile(e.config)
	e.write("drip.yaml", []byte(strings.Replace(string(cfg), "from: \"Maria Rossi <maria@example.com>\"",
		"from: \"Maria Rossi <maria@example.com>\"\n    pace: { min: 2m, max: 4m }\n    daily_limit: 400", 1)))
	e.write("sequences/trade-fair.yaml", []byte("name: trade-fair\nsteps: 60\ninterval: 10d\nfirst_step_after: 10d\ntimezone: Europe/Rome\n"+
		"window: { days: [tue, wed, thu], from: \"09:30\", to: \"10:30\" }\n"))

	var csv strings.Builder
	csv.WriteString("email,first_contact,timezone\n")
	today := time.Now().In(time.UTC)
	for i := range 1000 {
		fmt.Fprintf(&csv, "p%d@acme.example,%s,Europe/Rome\n", i, today.AddDate(0, 0, -(i%10)).Format("2006-01-02"))
	}
	list := e.write("list.csv", []byte(csv.String()))
	if out, errOut, code := e.drip("import", "--sequence", "trade-fair", list); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code := e.drip("status", "--senders")
	if code != 0 {
		t.Fatalf("status --senders: exit %d\n%s", code, errOut)
	}
	t.Logf("drip status --senders:\n%s", out)
	row := regexp.MustCompile(`(?m)^maria\s+ok\s+0/400\s+2m0s–4m0s\s+(\d+)\s+(\d+)\s+(\d+)% OVER$`).FindStringSubmatch(out)
	if row == nil {
		t.Fatalf("no row for maria with due, capacity and OVER:\n%s", out)
	}
	due, _ := strconv.Atoi(row[1])
	capacity, _ := strconv.Atoi(row[2])
	// Three one-hour openings a week at one send per 3 minutes on average
	// (59 when today's opening is split by the clock); step 1 of the
	// enrollments of at least three of the ten days falls on a Tue-Thu of
	// the week.
	if capacity < 59 || capacity > 60 || due < 300 || due > 1000 {
		t.Errorf("maria: due %d, capacity %d; want capacity 60 and several hundred due", due, capacity)
	}
	if !strings.Contains(out, "warning: sender maria: "+row[1]+" sends due in the next 7 days, but its window, pace and daily limit allow "+row[2]) ||
		!strings.Contains(out, "widen the sequence's window, add a sender, or lengthen the interval") {
		t.Errorf("no warning with the ways out:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^piotr\s+ok\s+0\s+none\s+0\s+no limit\s+-$`).MatchString(out) {
		t.Errorf("piotr's row is wrong:\n%s", out)
	}

	_, errOut, code = e.drip("check")
	if code != 0 || !strings.Contains(errOut, "warning: sender maria: "+row[1]+" sends due") {
		t.Errorf("drip check: exit %d, want 0 and the capacity warning:\n%s", code, errOut)
	}
}
