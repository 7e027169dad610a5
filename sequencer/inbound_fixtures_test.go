package sequencer_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer/inbound"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// fixtureFloor is mailer/inbound's sharedFixtureFloor: matching by the
// address of an enrolled prospect must keep the classifier's score.
const fixtureFloor = 0.98

var fixtureLabels = map[string]string{
	"auto_reply":       inbound.LabelAutoReply,
	"bounce_permanent": inbound.LabelBounce,
	"bounce_temporary": inbound.LabelDelayed,
	"human_reply":      inbound.LabelReply,
	"stop_request":     inbound.LabelUnsubscribe,
}

// TestSharedFixturesEnrolledNothingSent runs the shared real-world samples
// (mailer/inbound's TestSharedFixtures) through the whole decision, with
// the sender of each message (for a delivery report: each failed
// recipient) enrolled and sent nothing yet: each must match that
// prospect's enrollment and count as its class, at the classifier's floor.
// A delivery report acts only on a message of ours (inbound_trust.go), so
// the message a report returns is recorded as our send to its first
// failed recipient, as it would be in use; a report that returns no
// Message-ID at all must match and be flagged (in prose), or act by
// address (RFC 3464).
func TestSharedFixturesEnrolledNothingSent(t *testing.T) {
	dir := os.Getenv("DRIP_INBOUND_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "fixtures", "inbound")
	}
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Skipf("shared fixtures not available (%v)", err)
	}
	defer f.Close()

	st := testrig.Open(t, testrig.SQLiteURL(t))
	ctx := context.Background()
	own := []string{"Sales Rep <rep@drip.example>"}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	enrolled := map[string]int64{} // address -> enrollment

	type score struct{ ok, total int }
	perClass := map[string]*score{}
	var misses []string
	ok, total := 0, 0
	inProse := 0 // reports in prose returning no Message-ID: flagged
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	col := map[string]int{}
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if line == 1 {
			for i, name := range fields {
				col[name] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		file, class := get("file"), get("class")
		want, known := fixtureLabels[class]
		if !known {
			t.Errorf("manifest.tsv:%d: unknown class %q", line, class)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("manifest.tsv:%d: %v", line, err)
			continue
		}
		// Who the message is about: its sender, or the failed recipients.
		var addrs []string
		if want == inbound.LabelBounce || want == inbound.LabelDelayed {
			for _, a := range strings.Split(get("expected_failed_recipient"), ";") {
				if a = store.NormalizeEmail(a); a != "" {
					addrs = append(addrs, a)
				}
			}
		} else if m, err := inbound.Parse(raw); err == nil && m.From != "" {
			addrs = []string{m.From}
		}
		expected := map[string]int64{} // address -> the enrollment it must match
		if (want == inbound.LabelBounce || want == inbound.LabelDelayed) && len(addrs) > 0 {
			if m, err := inbound.Parse(raw); err == nil {
				res := inbound.Classify(m, own)
				switch {
				case len(res.MessageIDs) > 0:
					e, _ := inSeedSentID(t, st, addrs[0], fmt.Sprintf("fixture-%d", line), res.MessageIDs[0])
					expected[addrs[0]] = e.ID
				case !res.Structured:
					want = inbound.LabelFlagged
					inProse++
				}
			}
		}
		for _, a := range addrs {
			if _, done := enrolled[a]; !done {
				enrolled[a] = inEnroll(t, st, a, "fair").ID
			}
			if _, ok := expected[a]; !ok {
				expected[a] = enrolled[a]
			}
		}

		d, err := sequencer.DecideInbound(ctx, st, raw, own, now, true)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		problem := ""
		switch {
		case len(addrs) == 0:
			problem = "no address to enrol"
		case d.Kind != want:
			problem = "kind " + d.Kind + " (" + d.Note + ")"
		default:
			for _, a := range addrs {
				found := false
				for _, m := range d.Matched {
					found = found || m.EnrollmentID == expected[a]
				}
				if !found {
					problem = "did not match the enrollment of " + a
					break
				}
			}
		}
		s := perClass[class]
		if s == nil {
			s = &score{}
			perClass[class] = s
		}
		s.total++
		total++
		if problem == "" {
			s.ok++
			ok++
		} else {
			misses = append(misses, file+": want "+want+", got "+problem)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the manifest: %v", err)
	}
	if total == 0 {
		t.Fatal("manifest.tsv lists no fixtures")
	}
	classes := make([]string, 0, len(perClass))
	for c := range perClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("%-17s %2d/%2d", c, perClass[c].ok, perClass[c].total)
	}
	share := float64(ok) / float64(total)
	t.Logf("%-17s %2d/%2d (%.1f%%); %d reports in prose with no Message-ID flagged", "overall", ok, total, 100*share, inProse)
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	if share < fixtureFloor {
		t.Errorf("overall share %.3f fell below the floor %.3f", share, fixtureFloor)
	}
}
