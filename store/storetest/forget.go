package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/store"
)

// testForget: after forget, no column of any table holds the person's
// address, names, company, phone, notes, custom fields or the text of
// their mail; the address stays suppressed.
func testForget(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	db, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Skip("driver does not expose its database")
	}
	secrets := []string{"zofia.wisniewska", "kwiatex", "Zofia", "Wiśniewska", "Kwiatex", "+48 601", "met at Poznań",
		"likes tulips", "<reply-zofia@kwiatex.example>", "Dzień dobry"}
	p := store.Prospect{Email: "Zofia.Wisniewska@Kwiatex.example", FirstName: "Zofia", LastName: "Wiśniewska",
		Company: "Kwiatex Sp. z o.o.", Title: "CEO", Phone: "+48 601 000 000", MetAt: "met at Poznań",
		Notes: "likes tulips", Fields: map[string]string{"hobby": "likes tulips"}, CreatedAt: t0}
	must(s.ProspectUpsert(ctx, &p))(t)
	e := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "rep1", FirstContact: t0, NextSendAt: ptr(t0), CreatedAt: t0}
	must(s.EnrollmentCreate(ctx, &e))(t)
	keep := enrolled(t, s, "someone.else@example.com", "fair", ptr(t0.Add(time.Hour)))

	claimOne(t, s, "A", t0, time.Minute)
	noErr(t, must(s.SendsStart(ctx, []store.SendStart{start(e, "A", 1, t0)}))(t)[0])
	noErr(t, must(s.Settle(ctx, []store.Settle{{EnrollmentID: e.ID, Owner: "A", LastStep: 1, NextSendAt: ptr(t0.Add(time.Hour)),
		ThreadSubject: "Dzień dobry Zofia", ThreadRefs: start(e, "A", 1, t0).MessageID,
		Sends:  []store.SendUpdate{{Step: 1, Status: store.SendSent, Error: "250 ok for zofia.wisniewska@kwiatex.example"}},
		Events: []store.Event{{Kind: store.EventSent, Step: 1, MessageID: start(e, "A", 1, t0).MessageID, At: t0}}}}))(t)[0])
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 7, Key: "<reply-zofia@kwiatex.example>",
		Events: []store.Event{{EnrollmentID: e.ID, Kind: store.EventReply, Step: 1, MessageID: "<reply-zofia@kwiatex.example>",
			Detail: "Zofia Wiśniewska <zofia.wisniewska@kwiatex.example>: Dzień dobry", At: t0.Add(time.Hour)}},
		Transitions: []store.Transition{{EnrollmentID: e.ID, From: []store.State{store.StateActive}, To: store.StateReplied,
			At: t0.Add(time.Hour), Reason: "reply from Zofia"}}}))

	// The test's own check must be able to fail: before forget, it finds them.
	if found := personalData(t, ctx, db.DB(), secrets); len(found) == 0 {
		t.Fatal("the scan found no personal data before forget")
	}
	noErr(t, s.ProspectForget(ctx, "zofia.WISNIEWSKA@kwiatex.example", t0.Add(2*time.Hour)))
	if found := personalData(t, ctx, db.DB(), secrets); len(found) > 0 {
		t.Fatalf("personal data left after forget:\n%s", strings.Join(found, "\n"))
	}

	if !must(s.Suppressed(ctx, "zofia.wisniewska@kwiatex.example"))(t) {
		t.Fatal("forgotten address is not suppressed")
	}
	_, err := s.ProspectGetByEmail(ctx, "zofia.wisniewska@kwiatex.example")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ProspectGet(ctx, p.ID)
	wantErr(t, err, store.ErrNotFound)
	if got := must(s.EnrollmentGet(ctx, e.ID))(t); !got.State.Terminal() || got.NextSendAt != nil {
		t.Fatalf("forgotten prospect's enrollment = %+v", got)
	}
	// The list and the counts go on without them; the sends still count.
	rows, total := must2(s.ProspectList(ctx, store.ProspectFilter{}))(t)
	if total != 1 || rows[0].Prospect.ID != keep.ProspectID {
		t.Fatalf("prospect list after forget: %d rows", total)
	}
	if st := must(s.SequenceStats(ctx, "fair"))(t); len(st.Steps) != 1 || st.Steps[0].Sent != 1 || st.Steps[0].Replied != 1 {
		t.Fatalf("stats after forget = %+v", st)
	}
	// Coming back through an import or the API stores nothing.
	res := must(s.ImportBatch(ctx, []store.ImportRow{{Line: 2, Sequence: "fair", FirstContact: t0,
		Prospect: store.Prospect{Email: "zofia.wisniewska@kwiatex.example", FirstName: "Zofia"}}}))(t)
	wantErr(t, res[0].Err, store.ErrSuppressed)
	_, err = s.ProspectUpsert(ctx, &store.Prospect{Email: "zofia.wisniewska@kwiatex.example", Company: "Kwiatex"})
	wantErr(t, err, store.ErrSuppressed)
	// A late reply to a mail sent before forget: recorded, without its text.
	noErr(t, s.InboundRecord(ctx, store.Inbound{Sender: "rep1", UIDValidity: 1, UID: 8, Key: "<late-zofia@kwiatex.example>",
		Events: []store.Event{{EnrollmentID: e.ID, Kind: store.EventReply, Step: 1, MessageID: "<late-zofia@kwiatex.example>",
			Detail: "Zofia Wiśniewska <zofia.wisniewska@kwiatex.example>", At: t0.Add(3 * time.Hour)}}}))
	if found := personalData(t, ctx, db.DB(), secrets); len(found) > 0 {
		t.Fatalf("personal data stored again:\n%s", strings.Join(found, "\n"))
	}
	wantErr(t, s.ProspectForget(ctx, "nobody@example.com", t0), store.ErrNotFound)
}

// personalData reads every text column of every table and reports where
// one of needles appears (case-insensitively).
func personalData(t *testing.T, ctx context.Context, db *sql.DB, needles []string) []string {
	t.Helper()
	cols, err := textColumns(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) < 20 {
		t.Fatalf("found only %d text columns: the schema scan is broken", len(cols))
	}
	var found []string
	for _, c := range cols {
		// Names come from the database's own catalogue, not from input.
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %q FROM %q`, c[1], c[0]))
		if err != nil {
			t.Fatalf("reading %s.%s: %v", c[0], c[1], err)
		}
		for rows.Next() {
			var v sql.NullString
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			for _, n := range needles {
				if strings.Contains(strings.ToLower(v.String), strings.ToLower(n)) {
					found = append(found, fmt.Sprintf("%s.%s = %q", c[0], c[1], v.String))
				}
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return found
}

// textColumns lists (table, column) of every text column, from whichever
// catalogue the database has.
func textColumns(ctx context.Context, db *sql.DB) ([][2]string, error) {
	queries := []string{
		// PostgreSQL
		`SELECT table_name, column_name FROM information_schema.columns
		 WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'json', 'jsonb')`,
		// SQLite
		`SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
		 WHERE m.type = 'table' AND upper(c.type) IN ('TEXT', '')`,
	}
	var errs []error
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var out [][2]string
		for rows.Next() {
			var c [2]string
			if err := rows.Scan(&c[0], &c[1]); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("listing text columns: %w", errors.Join(errs...))
}
