package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drip-email/drip/store"
)

// importEnrollment is one enrollment a batch asks for.
type importEnrollment struct {
	norm, sequence, sender string
	firstContact, anchor   time.Time
	nextSendAt             *time.Time
}

// ImportBatch loads a list in one transaction. The batch is first folded in
// memory (a later row of the same address updates the earlier one; the first
// row asking for a sequence decides its enrollment), then written in a
// handful of statements, whatever its size (see importApply). A row
// without an address is refused on its own.
func (s *Store) ImportBatch(ctx context.Context, rows []store.ImportRow) ([]store.ImportResult, error) {
	results := make([]store.ImportResult, len(rows))
	at := utc(time.Now())
	norms := make([]string, len(rows))
	first := make([]bool, len(rows)) // the row that brings its address into the batch
	byNorm := map[string]int{}
	var prospects []prospectRow
	asked := map[[2]string]bool{}
	var enrolls []importEnrollment
	for i, r := range rows {
		results[i].Line = r.Line
		norm := store.NormalizeEmail(r.Prospect.Email)
		if norm == "" {
			results[i].Err = errors.New("no email address")
			continue
		}
		norms[i] = norm
		if k, ok := byNorm[norm]; ok {
			prospects[k] = mergeProspect(prospects[k], r.Prospect)
		} else {
			byNorm[norm] = len(prospects)
			first[i] = true
			p := r.Prospect
			prospects = append(prospects, prospectRow{
				Email: strings.TrimSpace(p.Email), EmailNorm: norm, EmailHash: store.EmailHash(norm),
				FirstName: p.FirstName, LastName: p.LastName, Company: p.Company, Title: p.Title,
				Phone: p.Phone, MetAt: p.MetAt, Timezone: p.Timezone, Language: p.Language,
				Notes: p.Notes, Fields: encodeFields(p.Fields),
			})
		}
		if r.Sequence != "" && !asked[[2]string{norm, r.Sequence}] {
			asked[[2]string{norm, r.Sequence}] = true
			anchor := r.Anchor
			if anchor.IsZero() {
				anchor = r.FirstContact
			}
			enrolls = append(enrolls, importEnrollment{
				norm: norm, sequence: r.Sequence, sender: r.Sender,
				firstContact: utc(r.FirstContact), anchor: utc(anchor), nextSendAt: utcPtr(r.NextSendAt),
			})
		}
	}
	if len(prospects) == 0 {
		return results, nil
	}

	suppressed := map[string]bool{}
	existing := map[string]bool{}
	var before map[int64][]store.Enrollment
	ids := map[string]int64{}
	err := s.inTx(ctx, func(tx *txn) error {
		var err error
		before = map[int64][]store.Enrollment{}
		suppressed, existing, err = s.importApply(ctx, tx, prospects, enrolls, at, ids, before)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("importing %d rows: %w", len(rows), err)
	}
	for i, norm := range norms {
		switch {
		case norm == "":
		case suppressed[norm]:
			results[i].Err = fmt.Errorf("line %d: %w", rows[i].Line, store.ErrSuppressed)
		default:
			results[i].Created = first[i] && !existing[norm]
			results[i].ProspectID = ids[norm]
			if existing[norm] {
				results[i].Known = true
				results[i].Enrollments = before[ids[norm]]
			}
		}
	}
	return results, nil
}

// importApply writes a folded batch in tx, after import-lock has made the
// import the only writer of prospects: it looks up which addresses are
// suppressed and which are known, updates the known ones (which also locks
// their rows, so that an EnrollmentCreate of one of them either finished
// before, and is seen, or waits), inserts the new ones with ids it took
// beforehand, and enrols every prospect in the sequences it asked for and
// is not in yet. Rows go in with the driver's import-load-* statements
// (COPY on PostgreSQL), straight into the tables: ids are known in Go, so
// nothing has to be joined back by address.
//
// ids receives every stored prospect's id by address, before the
// enrollments of the known prospects as they were before the batch.
func (s *Store) importApply(ctx context.Context, tx *txn, ps []prospectRow, es []importEnrollment, at time.Time,
	ids map[string]int64, before map[int64][]store.Enrollment) (suppressed, existing map[string]bool, err error) {
	if _, err := tx.ExecContext(ctx, s.q.ImportLock); err != nil {
		return nil, nil, fmt.Errorf("locking prospects: %w", err)
	}
	if s.q.ImportAsyncCommit != "" {
		if _, err := tx.ExecContext(ctx, s.q.ImportAsyncCommit); err != nil {
			return nil, nil, fmt.Errorf("setting up the import: %w", err)
		}
	}
	norms := make([]string, len(ps))
	hashes := make([]string, len(ps))
	for i, p := range ps {
		norms[i], hashes[i] = p.EmailNorm, p.EmailHash
	}
	var supHashes []string
	if err := tx.SelectContext(ctx, &supHashes, s.q.ImportSuppressed, jsonList(hashes)); err != nil {
		return nil, nil, fmt.Errorf("checking suppressions: %w", err)
	}
	suppressed = map[string]bool{}
	if len(supHashes) > 0 {
		sup := map[string]bool{}
		for _, h := range supHashes {
			sup[h] = true
		}
		for _, p := range ps {
			if sup[p.EmailHash] {
				suppressed[p.EmailNorm] = true
			}
		}
	}
	var known []struct {
		ID   int64  `db:"id"`
		Norm string `db:"email_norm"`
	}
	if err := tx.SelectContext(ctx, &known, s.q.ImportKnown, jsonList(norms)); err != nil {
		return nil, nil, fmt.Errorf("finding known prospects: %w", err)
	}
	existing = map[string]bool{}
	var update []importUpdate
	var knownIDs []int64
	byNorm := make(map[string]int, len(ps))
	for i, p := range ps {
		byNorm[p.EmailNorm] = i
	}
	names, err := s.importKnownNames(ctx, tx, known)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range known {
		if suppressed[k.Norm] {
			continue
		}
		p := ps[byNorm[k.Norm]]
		if n, ok := names[k.ID]; ok { // see namecase.go
			p.FirstName = betterCased(n.FirstName, p.FirstName)
			p.LastName = betterCased(n.LastName, p.LastName)
			p.Company = betterCased(n.Company, p.Company)
		}
		ids[k.Norm], existing[k.Norm] = k.ID, true
		knownIDs = append(knownIDs, k.ID)
		update = append(update, importUpdate{ID: k.ID, Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
			Company: p.Company, Title: p.Title, Phone: p.Phone, MetAt: p.MetAt, Timezone: p.Timezone,
			Language: p.Language, Notes: p.Notes, Fields: p.Fields,
			SearchFold: store.SearchFold(p.FirstName, p.LastName, p.Company)})
	}
	enrolled := map[importPair]bool{}
	if len(update) > 0 {
		payload, err := json.Marshal(update)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q.ImportUpdateProspects, string(payload), at); err != nil {
			return nil, nil, fmt.Errorf("updating known prospects: %w", err)
		}
		// Whole rows, not only (prospect, sequence): the caller re-plans
		// and warns from them without reading them again (sequencer).
		var ers []enrollmentRow
		if err := tx.SelectContext(ctx, &ers, s.q.EnrollmentsOfProspects, jsonList(knownIDs)); err != nil {
			return nil, nil, fmt.Errorf("finding enrollments of known prospects: %w", err)
		}
		for _, r := range ers {
			e := r.enrollment()
			enrolled[importPair{e.ProspectID, e.Sequence}] = true
			before[e.ProspectID] = append(before[e.ProspectID], e)
		}
	}

	var fresh []prospectRow
	for _, p := range ps {
		if !suppressed[p.EmailNorm] && !existing[p.EmailNorm] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) > 0 {
		if err := s.importInsert(ctx, tx, fresh, ids, at); err != nil {
			return nil, nil, err
		}
	}

	var enrol []importEnrollment
	var enrolIDs []int64
	for _, e := range es {
		id, ok := ids[e.norm]
		if !ok || enrolled[importPair{id, e.sequence}] {
			continue // suppressed, or already enrolled in that sequence
		}
		enrol = append(enrol, e)
		enrolIDs = append(enrolIDs, id)
	}
	err = s.bulk(ctx, tx, s.q.ImportLoadEnrollment, len(enrol), func(i int) []any {
		e := enrol[i]
		return []any{enrolIDs[i], e.sequence, e.sender, string(store.StateActive), e.firstContact, e.anchor, e.nextSendAt, at, at}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("enrolling: %w", err)
	}
	return suppressed, existing, nil
}

// knownNames are a known prospect's stored names.
type knownNames struct {
	ID        int64  `db:"id"`
	FirstName string `db:"first_name"`
	LastName  string `db:"last_name"`
	Company   string `db:"company"`
}

// importKnownNames reads the stored names of the known prospects of a
// batch, so that an update keeps the better-cased spelling.
func (s *Store) importKnownNames(ctx context.Context, tx *txn, known []struct {
	ID   int64  `db:"id"`
	Norm string `db:"email_norm"`
}) (map[int64]knownNames, error) {
	out := make(map[int64]knownNames, len(known))
	if len(known) == 0 {
		return out, nil
	}
	ids := make([]int64, len(known))
	for i, k := range known {
		ids[i] = k.ID
	}
	var rows []knownNames
	if err := tx.SelectContext(ctx, &rows, s.q.ImportKnownNames, jsonList(ids)); err != nil {
		return nil, fmt.Errorf("reading known prospects' names: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// importInsert inserts new prospects and notes their ids in ids (by
// address). Where the driver has import-prospect-ids (SQLite) the ids are
// taken first and inserted with the rows; else (PostgreSQL) the rows take
// their column's default and the ids are read back by address, which
// costs the server a third of taking them one nextval at a time.
func (s *Store) importInsert(ctx context.Context, tx *txn, fresh []prospectRow, ids map[string]int64, at time.Time) error {
	if s.q.ImportProspectIDs == "" {
		err := s.bulk(ctx, tx, s.q.ImportLoadProspect, len(fresh), func(i int) []any {
			p := fresh[i]
			return []any{p.Email, p.EmailNorm, p.EmailHash, p.FirstName, p.LastName, p.Company,
				p.Title, p.Phone, p.MetAt, p.Timezone, p.Language, p.Notes, p.Fields, at, at,
				store.SearchFold(p.FirstName, p.LastName, p.Company)}
		})
		if err != nil {
			return fmt.Errorf("inserting new prospects: %w", err)
		}
		norms := make([]string, len(fresh))
		for i, p := range fresh {
			norms[i] = p.EmailNorm
		}
		var got []struct {
			ID   int64  `db:"id"`
			Norm string `db:"email_norm"`
		}
		if err := tx.SelectContext(ctx, &got, s.q.ImportKnown, jsonList(norms)); err != nil {
			return fmt.Errorf("reading new prospects' ids: %w", err)
		}
		if len(got) != len(fresh) {
			return fmt.Errorf("reading new prospects' ids: got %d for %d prospects", len(got), len(fresh))
		}
		for _, g := range got {
			ids[g.Norm] = g.ID
		}
		return nil
	}
	var newIDs []int64
	if err := tx.SelectContext(ctx, &newIDs, s.q.ImportProspectIDs, len(fresh)); err != nil {
		return fmt.Errorf("taking prospect ids: %w", err)
	}
	if len(newIDs) != len(fresh) {
		return fmt.Errorf("taking prospect ids: got %d for %d prospects", len(newIDs), len(fresh))
	}
	err := s.bulk(ctx, tx, s.q.ImportLoadProspect, len(fresh), func(i int) []any {
		p := fresh[i]
		ids[p.EmailNorm] = newIDs[i]
		return []any{newIDs[i], p.Email, p.EmailNorm, p.EmailHash, p.FirstName, p.LastName, p.Company,
			p.Title, p.Phone, p.MetAt, p.Timezone, p.Language, p.Notes, p.Fields, at, at,
			store.SearchFold(p.FirstName, p.LastName, p.Company)}
	})
	if err != nil {
		return fmt.Errorf("inserting new prospects: %w", err)
	}
	return nil
}

// importUpdate is a known prospect's new data, sent to the driver's
// import-update-prospects as a JSON list.
type importUpdate struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Title     string `json:"title"`
	Phone     string `json:"phone"`
	MetAt     string `json:"met_at"`
	Timezone  string `json:"timezone"`
	Language  string `json:"language"`
	Notes     string `json:"notes"`
	Fields    string `json:"fields"` // JSON object, as text
	// SearchFold is store.SearchFold of the names and company as merged.
	SearchFold string `json:"search_fold"`
}

type importPair struct {
	prospectID int64
	sequence   string
}

// bulk runs a loading statement for n rows. A COPY takes them one by one
// (buffered by the driver) and a final empty Exec. An INSERT … VALUES of
// one row is widened to bulkRows rows a statement: per-statement costs of
// database/sql dominate otherwise.
func (s *Store) bulk(ctx context.Context, tx *txn, query string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	if strings.HasPrefix(query, "COPY") {
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		// The rows of a list share few distinct times (the import's own,
		// a first contact per day): each is written out once, not per row.
		times := map[time.Time]string{}
		text := func(t time.Time) string {
			s, ok := times[t]
			if !ok {
				s = t.Format(time.RFC3339Nano)
				times[t] = s
			}
			return s
		}
		for i := range n {
			args := row(i)
			for j, a := range args {
				switch v := a.(type) {
				case time.Time:
					args[j] = text(v)
				case *time.Time:
					if v != nil {
						args[j] = text(*v)
					}
				}
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		_, err = stmt.ExecContext(ctx)
		return err
	}
	head, tuple, ok := cutLast(query, "VALUES")
	if !ok {
		return fmt.Errorf("staging statement has no VALUES: %.40q", query)
	}
	width := strings.Count(tuple, "$")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	widen := func(rows int) string {
		return head + "VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
	}
	args := make([]any, 0, bulkRows*width)
	for i := 0; i < n; i += bulkRows {
		rows := min(bulkRows, n-i)
		args = args[:0]
		for j := i; j < i+rows; j++ {
			args = append(args, row(j)...)
		}
		// The full width runs prepared (see txn); a tail, of any width,
		// is not worth keeping a statement for.
		exec := tx.ExecContext
		if rows < bulkRows {
			exec = tx.tx.ExecContext
		}
		if _, err := exec(ctx, widen(rows), args...); err != nil {
			return err
		}
	}
	return nil
}

// bulkRows is how many rows one widened staging INSERT carries (SQLite
// allows 32766 parameters a statement).
const bulkRows = 100

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
