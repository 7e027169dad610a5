package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

func testProspectUpsert(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := store.Prospect{Email: "Maria.Rossi@Example.COM", FirstName: "Maria", LastName: "Rossi",
		Company: "ACME", Timezone: "Europe/Rome", Fields: map[string]string{"booth": "B12", "size": "L"},
		CreatedAt: t0}
	if created := must(s.ProspectUpsert(ctx, &p))(t); !created {
		t.Fatal("first upsert: created = false")
	}
	if p.ID == 0 || p.Email != "Maria.Rossi@Example.COM" || !p.CreatedAt.Equal(t0) {
		t.Fatalf("stored prospect = %+v", p)
	}

	// The same address in another case and with blanks around is the same
	// prospect: empty values keep the stored ones, fields merge.
	again := store.Prospect{Email: "  maria.rossi@example.com ", Company: "ACME Srl",
		Fields: map[string]string{"size": "XL", "met": "Milan"}, UpdatedAt: t0.Add(time.Hour)}
	if created := must(s.ProspectUpsert(ctx, &again))(t); created {
		t.Fatal("second upsert of the same address: created = true")
	}
	if again.ID != p.ID {
		t.Fatalf("second upsert made prospect %d, want %d", again.ID, p.ID)
	}
	got := must(s.ProspectGetByEmail(ctx, "MARIA.ROSSI@example.com"))(t)
	if got.ID != p.ID || got.FirstName != "Maria" || got.LastName != "Rossi" || got.Company != "ACME Srl" || got.Timezone != "Europe/Rome" {
		t.Fatalf("merged prospect = %+v", got)
	}
	want := map[string]string{"booth": "B12", "size": "XL", "met": "Milan"}
	if len(got.Fields) != len(want) {
		t.Fatalf("fields = %v, want %v", got.Fields, want)
	}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Fatalf("fields = %v, want %v", got.Fields, want)
		}
	}
	if !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("UpdatedAt = %v", got.UpdatedAt)
	}

	// Idempotent: the same upsert twice changes nothing more.
	third := store.Prospect{Email: "maria.rossi@example.com", Company: "ACME Srl", UpdatedAt: t0.Add(time.Hour)}
	must(s.ProspectUpsert(ctx, &third))(t)
	if third.ID != p.ID || third.Company != "ACME Srl" || len(third.Fields) != 3 {
		t.Fatalf("third upsert = %+v", third)
	}

	byID := must(s.ProspectGet(ctx, p.ID))(t)
	if byID.Email != "maria.rossi@example.com" {
		t.Fatalf("email after re-upsert = %q, want the latest spelling", byID.Email)
	}
	other := prospect(t, s, "other@example.com")
	m := must(s.ProspectsByIDs(ctx, []int64{p.ID, other.ID, 999999}))(t)
	if len(m) != 2 || m[other.ID].Email != "other@example.com" {
		t.Fatalf("ProspectsByIDs = %v", m)
	}
	_, err := s.ProspectGet(ctx, 999999)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ProspectGetByEmail(ctx, "nobody@example.com")
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.ProspectUpsert(ctx, &store.Prospect{Email: "  "}); err == nil {
		t.Fatal("upsert without an address succeeded")
	}
}

func testProspectList(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := enrolled(t, s, "anna@alpha.example", "fair", ptr(t0))
	b := enrolled(t, s, "bruno@beta.example", "fair", ptr(t0))
	enrolled(t, s, "bruno@beta.example", "webinar", ptr(t0))
	prospect(t, s, "carla@gamma.example")
	c := store.Prospect{Email: "dario@delta.example", Company: "100% Delta_Co"}
	must(s.ProspectUpsert(ctx, &c))(t)
	must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: a.ID, From: []store.State{store.StateActive},
		To: store.StatePaused, At: t0}))(t)

	rows, total := must2(s.ProspectList(ctx, store.ProspectFilter{}))(t)
	if total != 4 || len(rows) != 4 || rows[0].Prospect.Email != "anna@alpha.example" {
		t.Fatalf("all: total %d, rows %v", total, emails(rows))
	}
	if rows[2].Enrollment != nil {
		t.Fatalf("carla has enrollment %+v", rows[2].Enrollment)
	}
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Limit: 2, Offset: 1}))(t)
	if total != 4 || len(rows) != 2 || rows[0].Prospect.Email != "bruno@beta.example" {
		t.Fatalf("page: total %d, rows %v", total, emails(rows))
	}
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Sequence: "webinar"}))(t)
	if total != 1 || rows[0].Prospect.ID != b.ProspectID || rows[0].Enrollment.Sequence != "webinar" {
		t.Fatalf("webinar: total %d, rows %v", total, emails(rows))
	}
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{State: store.StatePaused}))(t)
	if total != 1 || rows[0].Prospect.ID != a.ProspectID || rows[0].Enrollment.State != store.StatePaused {
		t.Fatalf("paused: total %d, rows %v", total, emails(rows))
	}
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Search: "BETA"}))(t)
	if total != 1 || rows[0].Prospect.Email != "bruno@beta.example" {
		t.Fatalf("search BETA: total %d, rows %v", total, emails(rows))
	}
	// LIKE wildcards in a search are literal.
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Search: "0% delta_"}))(t)
	if total != 1 || rows[0].Prospect.Email != "dario@delta.example" {
		t.Fatalf("search by company: total %d, rows %v", total, emails(rows))
	}
	_, total = must2(s.ProspectList(ctx, store.ProspectFilter{Search: "_"}))(t)
	if total != 1 {
		t.Fatalf("search for a literal _ matched %d prospects, want 1", total)
	}
	// The importer lets a cell hold 1,000 characters: 4,000 bytes of
	// them fit every index (a PostgreSQL b-tree entry holds 2,704).
	var company strings.Builder
	for i, x := 0, uint32(1); i < 999; i++ { // CJK Extension B, 4 bytes each, in no order that compresses
		x = x*1103515245 + 12345
		company.WriteRune(rune(0x20000 + x>>8%0xA6D0))
	}
	company.WriteString("Z")
	long := store.Prospect{Email: "long@example.com", Company: company.String(), CreatedAt: t0}
	must(s.ProspectUpsert(ctx, &long))(t)
	must(s.EnrollmentCreate(ctx, &store.Enrollment{ProspectID: long.ID, Sequence: "fair", Sender: "rep1",
		FirstContact: t0, CreatedAt: t0}))(t)
	rows, total = must2(s.ProspectList(ctx, store.ProspectFilter{Search: string([]rune(long.Company)[997:999]) + "z"}))(t)
	if total != 1 || rows[0].Prospect.Company != long.Company {
		t.Fatalf("search in a long company: total %d, rows %v", total, emails(rows))
	}
}

func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func emails(rows []store.ProspectListRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Prospect.Email)
	}
	return out
}

func testEnrollmentCreate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := prospect(t, s, "lead@example.com")
	e := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "rep1", FirstContact: t0,
		NextSendAt: ptr(t0.Add(24 * time.Hour)), CreatedAt: t0}
	if !must(s.EnrollmentCreate(ctx, &e))(t) {
		t.Fatal("first enrollment: created = false")
	}
	if e.ID == 0 || e.State != store.StateActive || !e.Anchor.Equal(t0) || e.Version != 1 {
		t.Fatalf("new enrollment = %+v", e)
	}
	dup := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "rep2", FirstContact: t0.Add(time.Hour), CreatedAt: t0}
	if must(s.EnrollmentCreate(ctx, &dup))(t) {
		t.Fatal("second enrollment in the same sequence: created = true")
	}
	if dup.ID != e.ID || dup.Sender != "rep1" || !dup.FirstContact.Equal(t0) {
		t.Fatalf("second enrollment returned %+v, want the stored one", dup)
	}
	other := store.Enrollment{ProspectID: p.ID, Sequence: "webinar", FirstContact: t0, CreatedAt: t0}
	if !must(s.EnrollmentCreate(ctx, &other))(t) {
		t.Fatal("enrollment in another sequence: created = false")
	}
	list := must(s.EnrollmentsByProspect(ctx, p.ID))(t)
	if len(list) != 2 || list[0].ID != e.ID || list[1].ID != other.ID {
		t.Fatalf("EnrollmentsByProspect = %+v", list)
	}
	kinds := timelineKinds(t, s, p.ID)
	if countKind(kinds, store.EventEnrolled) != 2 {
		t.Fatalf("timeline = %v, want one enrolled event per enrollment", kinds)
	}
	tl := must(s.Timeline(ctx, p.ID))(t)
	if tl[0].EnrollmentID != e.ID || tl[0].Sequence != "fair" || !tl[0].At.Equal(t0) {
		t.Fatalf("enrolled event = %+v", tl[0])
	}
	_, err := s.EnrollmentGet(ctx, 999999)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.EnrollmentCreate(ctx, &store.Enrollment{ProspectID: 999999, Sequence: "fair", FirstContact: t0})
	wantErr(t, err, store.ErrNotFound)

	// An event added by hand to an enrollment takes its prospect and sequence.
	noErr(t, s.EventAdd(ctx, store.Event{EnrollmentID: e.ID, Kind: store.EventUpdated, Detail: "by hand", At: t0.Add(time.Minute)}))
	tl = must(s.Timeline(ctx, p.ID))(t)
	last := tl[len(tl)-1]
	if last.Kind != store.EventUpdated || last.ProspectID != p.ID || last.Sequence != "fair" {
		t.Fatalf("event added by hand = %+v", last)
	}
	if err := s.EventAdd(ctx, store.Event{Kind: store.EventUpdated, At: t0}); err == nil {
		t.Fatal("event without a prospect was recorded")
	}
}

// testTimesRoundTrip: instants come back equal, in UTC, whatever zone they
// went in with (SQLite stores microseconds, PostgreSQL timestamptz).
func testTimesRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Skip("no time zone data")
	}
	fc := time.Date(2026, 3, 29, 1, 30, 0, 123456000, rome) // the night the clocks go forward
	p := prospect(t, s, "tz@example.com")
	e := store.Enrollment{ProspectID: p.ID, Sequence: "fair", FirstContact: fc, NextSendAt: ptr(fc.Add(36 * time.Hour)), CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &e))(t)
	got := must(s.EnrollmentGet(ctx, e.ID))(t)
	if !got.FirstContact.Equal(fc) || got.FirstContact.Location() != time.UTC {
		t.Fatalf("FirstContact = %v, want %v in UTC", got.FirstContact, fc)
	}
	sameTime(t, "NextSendAt", got.NextSendAt, ptr(fc.Add(36*time.Hour)))
	if got.PausedAt != nil || got.LastSentAt != nil || got.LeaseUntil != nil {
		t.Fatalf("unset times came back set: %+v", got)
	}
	// Ordering by time is by instant, not by text.
	early := enrolled(t, s, "early@example.com", "fair", ptr(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)))
	late := enrolled(t, s, "late@example.com", "fair", ptr(time.Date(2026, 1, 1, 10, 0, 0, 0, rome).Add(2*time.Hour)))
	claimed := must(s.EnrollmentClaimDue(ctx, store.ClaimParams{Owner: "a", Now: fc.Add(48 * time.Hour), LeaseUntil: fc.Add(49 * time.Hour), Limit: 10}))(t)
	if len(claimed) != 3 || claimed[0].ID != early.ID || claimed[1].ID != late.ID || claimed[2].ID != e.ID {
		t.Fatalf("claim order = %v", claimed)
	}
}

// testProspectListPlans checks that every filter lists the same whichever
// plan the store takes for it (driven by an index or walking the
// prospects in address order), against the list worked out here from
// every prospect's enrollments.
func testProspectListPlans(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	planner, ok := s.(interface{ SetListDriveMax(n int) })
	if !ok {
		t.Fatalf("%T cannot choose the prospect list's plan", s)
	}
	companies := []string{"Alpha Srl", "100% Delta_Co", "Caffè Roma", "beta GmbH", "", "Zeta"}
	states := []store.State{store.StateActive, store.StatePaused, store.StateReplied, store.StateCompleted}
	type want struct {
		p   store.Prospect
		ens []store.Enrollment
	}
	var all []want
	for i := range 40 {
		p := store.Prospect{Email: fmt.Sprintf("Lead%02d@%s.example", (i*7)%40, []string{"alpha", "beta", "gamma"}[i%3]),
			Company: companies[i%len(companies)], CreatedAt: t0}
		must(s.ProspectUpsert(ctx, &p))(t)
		w := want{p: p}
		for j, seq := range []string{"fair", "webinar"} {
			if (i+j)%3 == 0 {
				continue // not in this sequence
			}
			e := store.Enrollment{ProspectID: p.ID, Sequence: seq, Sender: "rep1", FirstContact: t0, CreatedAt: t0}
			must(s.EnrollmentCreate(ctx, &e))(t)
			if to := states[(i+2*j)%len(states)]; to != store.StateActive {
				e = must(s.EnrollmentTransition(ctx, store.Transition{EnrollmentID: e.ID,
					From: []store.State{store.StateActive}, To: to, At: t0.Add(time.Duration(i+j) * time.Minute)}))(t)
			}
			w.ens = append(w.ens, e)
		}
		all = append(all, w)
	}
	// A forgotten prospect is never listed, whatever it matched.
	gone := store.Prospect{Email: "gone@alpha.example", Company: "Alpha Srl", CreatedAt: t0}
	must(s.ProspectUpsert(ctx, &gone))(t)
	must(s.EnrollmentCreate(ctx, &store.Enrollment{ProspectID: gone.ID, Sequence: "fair", Sender: "rep1", FirstContact: t0, CreatedAt: t0}))(t)
	if err := s.ProspectForget(ctx, gone.Email, t0); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(all, func(a, b want) int { return strings.Compare(strings.ToLower(a.p.Email), strings.ToLower(b.p.Email)) })

	// expected is the filter's list: the prospects, and the enrollment
	// each is shown with (0: none).
	expected := func(f store.ProspectFilter) (emails []string, shown []int64) {
		term := strings.ToLower(f.Search)
		for _, w := range all {
			if term != "" && !strings.Contains(strings.ToLower(w.p.Email), term) && !strings.Contains(strings.ToLower(w.p.Company), term) {
				continue
			}
			var best *store.Enrollment
			for _, e := range w.ens {
				if f.Sequence != "" && e.Sequence != f.Sequence || f.State != "" && e.State != f.State {
					continue
				}
				// Running before ended, then the latest changed.
				if best == nil || e.State.Terminal() != best.State.Terminal() && !e.State.Terminal() ||
					e.State.Terminal() == best.State.Terminal() && (e.UpdatedAt.After(best.UpdatedAt) ||
						e.UpdatedAt.Equal(best.UpdatedAt) && e.ID > best.ID) {
					best = &e
				}
			}
			if best == nil && (f.Sequence != "" || f.State != "") {
				continue
			}
			emails = append(emails, w.p.Email)
			if best != nil {
				shown = append(shown, best.ID)
			} else {
				shown = append(shown, 0)
			}
		}
		return emails, shown
	}

	var filters []store.ProspectFilter
	for _, seq := range []string{"", "fair", "webinar", "none"} {
		for _, st := range []store.State{"", store.StateActive, store.StatePaused, store.StateCompleted} {
			// Terms: none, too short for a trigram index, LIKE's wildcards,
			// a non-ASCII one, upper case, an address part, no match.
			for _, q := range []string{"", "a", "_", "0% d", "caffè", "BETA", "lead1", "zzzz"} {
				filters = append(filters, store.ProspectFilter{Sequence: seq, State: st, Search: q})
			}
		}
	}
	for _, drive := range []int{0, 1 << 20} {
		planner.SetListDriveMax(drive)
		for _, f := range filters {
			wantEmails, wantShown := expected(f)
			rows, total := must2(s.ProspectList(ctx, f))(t)
			var gotShown []int64
			for _, r := range rows {
				if r.Enrollment != nil {
					gotShown = append(gotShown, r.Enrollment.ID)
				} else {
					gotShown = append(gotShown, 0)
				}
			}
			if got := emails(rows); total != len(wantEmails) || !slices.Equal(got, wantEmails) || !slices.Equal(gotShown, wantShown) {
				t.Fatalf("driveMax %d, %+v:\n got %d %v %v\nwant %d %v %v", drive, f, total, got, gotShown, len(wantEmails), wantEmails, wantShown)
			}
			// A page, and a count capped below the total.
			f.Limit, f.Offset, f.CountUpTo = 3, 2, 4
			rows, total = must2(s.ProspectList(ctx, f))(t)
			wantPage := wantEmails[min(2, len(wantEmails)):min(5, len(wantEmails))]
			if got := emails(rows); total != min(4, len(wantEmails)) || !slices.Equal(got, wantPage) {
				t.Fatalf("driveMax %d, %+v: got %d %v, want %d %v", drive, f, total, got, min(4, len(wantEmails)), wantPage)
			}
		}
	}
}
