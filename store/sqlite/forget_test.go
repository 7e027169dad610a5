package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drip-email/drip/migrations"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/sqlite"
)

// TestForgetLeavesNothingInTheFile: after forget, the prospect's address
// and names are in no page of the database file, its free pages included,
// nor in its write-ahead log: a copy of the file (a backup, a stolen disk)
// does not hold them.
func TestForgetLeavesNothingInTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "drip.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := migrations.Up(ctx, s.DB(), migrations.SQLite); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	secrets := []string{"zofia.wisniewska", "Kwiatex", "Zofia", "Wiśniewska", "tulips"}
	p := store.Prospect{Email: "zofia.wisniewska@kwiatex.example", FirstName: "Zofia", LastName: "Wiśniewska",
		Company: "Kwiatex Sp. z o.o.", Notes: "likes tulips", Fields: map[string]string{"hobby": "tulips"}, CreatedAt: t0}
	if _, err := s.ProspectUpsert(ctx, &p); err != nil {
		t.Fatal(err)
	}
	e := store.Enrollment{ProspectID: p.ID, Sequence: "fair", Sender: "rep1", FirstContact: t0, CreatedAt: t0}
	if _, err := s.EnrollmentCreate(ctx, &e); err != nil {
		t.Fatal(err)
	}
	if err := s.EventAdd(ctx, store.Event{EnrollmentID: e.ID, Kind: store.EventReply, Detail: "Zofia Wiśniewska: tulips", At: t0}); err != nil {
		t.Fatal(err)
	}
	// Many other prospects, so that pages split and some are freed later.
	for i := range 300 {
		q := store.Prospect{Email: "someone" + string(rune('a'+i%26)) + time.Duration(i).String() + "@example.com", FirstName: "Other", CreatedAt: t0}
		if _, err := s.ProspectUpsert(ctx, &q); err != nil {
			t.Fatal(err)
		}
	}
	raw := func() []byte {
		var all []byte
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	if b := raw(); !bytes.Contains(b, []byte("Wiśniewska")) {
		t.Fatal("the scan does not find the name before forget")
	}
	if err := s.ProspectForget(ctx, "zofia.wisniewska@kwiatex.example", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b := raw()
	for _, sec := range secrets {
		if bytes.Contains(b, []byte(sec)) {
			t.Errorf("%q is still in the database file or its WAL after forget", sec)
		}
	}
}
