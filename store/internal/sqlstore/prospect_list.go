package sqlstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/jmoiron/sqlx"

	"github.com/drip-email/drip/store"
)

// The prospect list is ordered by address and may be filtered by sequence,
// state and a search term. Neither database can be left to plan that
// alone: SQLite keeps no statistics, so it cannot tell a filter that keeps
// 300 prospects of 100,000 from one that keeps 99,700, and the two want
// opposite plans. A filter that keeps few prospects is best driven by its
// index (the enrollments of a state or sequence) and the few rows it finds
// sorted; one that keeps many is best checked row by row while walking the
// live prospects in address order, which finds a page after about
// pageSize / share rows. So ProspectList first asks the enrollments' index
// how many rows the filter finds there, up to driveMax (a bounded,
// index-only count), and drives by it if that is at most driveMax; else it
// walks.
//
// One pass lists the ids of the matches in address order, up to what the
// page and the count need (the caller's CountUpTo); the page's rows are
// then read by id. Counting and listing in two queries read every match
// twice.
//
// A search is checked row by row: a trigram index (FTS5's on SQLite,
// pg_trgm's GIN on PostgreSQL) made it 3 to 10 ms instead of 40 to 80 ms
// with 100,000 prospects, but halved the import (31,000 to 14,000 rows/s
// on both), and pg_trgm needs CREATE EXTENSION on the database.
//
// Every query text is expanded once, at start, from the list:x blocks of
// queries.sql, for every shape (which filters, which driver): the SQL
// never holds a user's input, only $N parameters.

// driveMax is the most rows the enrollments' index may find for the list
// to be driven by it (and those rows sorted); above it the list walks. At
// the boundary a drive sorts driveMax rows and a walk checks at most
// N / driveMax rows per row shown (10 with 100,000 prospects).
const driveMax = 10_000

// Drivers of a list.
const (
	driveWalk     = ""         // walk the live prospects in address order
	driveEnrolled = "enrolled" // the enrollments of the state / sequence
)

// listShape is what a list query is expanded for: the filters it has and
// the one that drives. The templates read its fields and P.
type listShape struct {
	Seq, State, Search bool
	Driver             string
}

// listParams are the list queries' parameters, in the order they are
// numbered among those a shape has (n is the limit: of rows, or of the
// estimate).
var listParams = []string{"seq", "state", "term", "n"}

func (s listShape) has(param string) bool {
	switch param {
	case "seq":
		return s.Seq
	case "state":
		return s.State
	case "term":
		return s.Search
	}
	return true
}

// P is the placeholder ($N) of a parameter in the shape's queries.
func (s listShape) P(param string) (string, error) {
	n := 0
	for _, p := range listParams {
		if !s.has(p) {
			continue
		}
		n++
		if p == param {
			return "$" + strconv.Itoa(n), nil
		}
	}
	return "", fmt.Errorf("parameter %q is not one of this list's", param)
}

// args are the shape's parameters for f, in listParams' order.
func (s listShape) args(f store.ProspectFilter, term string, n int64) []any {
	values := map[string]any{"seq": f.Sequence, "state": string(f.State), "term": term, "n": n}
	var out []any
	for _, p := range listParams {
		if s.has(p) {
			out = append(out, values[p])
		}
	}
	return out
}

// listSQL are the queries of one shape: estimate only for a shape driven
// by the enrollments without a search (the estimate of the filter's
// enrollments alone).
type listSQL struct{ estimate, ids string }

// expandListQueries expands the list:x blocks for every shape.
func expandListQueries(set *template.Template) (map[listShape]listSQL, error) {
	out := map[listShape]listSQL{}
	exec := func(name string, sh listShape) (string, error) {
		var b strings.Builder
		if err := set.ExecuteTemplate(&b, name, sh); err != nil {
			return "", fmt.Errorf("query %s for %+v: %w", name, sh, err)
		}
		return b.String(), nil
	}
	for bits := range 8 {
		for _, driver := range []string{driveWalk, driveEnrolled} {
			sh := listShape{Seq: bits&1 != 0, State: bits&2 != 0, Search: bits&4 != 0, Driver: driver}
			if driver == driveEnrolled && !sh.Seq && !sh.State {
				continue
			}
			var q listSQL
			var err error
			if q.ids, err = exec("list:ids", sh); err != nil {
				return nil, err
			}
			if driver == driveEnrolled && !sh.Search {
				if q.estimate, err = exec("list:estimate", sh); err != nil {
					return nil, err
				}
			}
			out[sh] = q
		}
	}
	return out, nil
}

// ProspectList lists prospects by address, each with its most relevant
// enrollment: the one still running if any, else the latest. With a
// Sequence or State filter only prospects with such an enrollment are
// listed, and that is the one shown. The search is a substring of the
// address, or of the names and company, case-folded for every letter by
// Go (store.SearchFold, the search_fold column). Limit 0 means no limit.
func (s *Store) ProspectList(ctx context.Context, f store.ProspectFilter) ([]store.ProspectListRow, int, error) {
	// Unprepared: PostgreSQL plans a prepared statement once for any
	// arguments after five runs, and a generic plan cannot know whether
	// a filter keeps few prospects or most.
	db := s.read.DB
	term := store.FoldTerm(f.Search)
	shape := listShape{Seq: f.Sequence != "", State: f.State != "", Search: term != ""}

	countUpTo := int64(math.MaxInt64)
	if f.CountUpTo > 0 {
		countUpTo = int64(f.CountUpTo)
	}
	offset := int64(max(f.Offset, 0))
	end := int64(math.MaxInt64) // of the page
	if f.Limit > 0 && offset <= math.MaxInt64-int64(f.Limit) {
		end = offset + int64(f.Limit)
	}

	if len(f.Senders) > 0 {
		return s.listPage(ctx, f, s.q.ProspectIDsOfSenders,
			[]any{jsonList(f.Senders), f.Sequence, string(f.State), term, max(countUpTo, end)}, countUpTo, offset, end)
	}
	if shape.Seq || shape.State {
		// Driven by the enrollments if they hold few enough: a caller
		// that needs no more than n ids has no use for more.
		most := min(int64(s.driveMax), max(countUpTo, end))
		est := listShape{Seq: shape.Seq, State: shape.State, Driver: driveEnrolled}
		var n int64
		if err := db.GetContext(ctx, &n, s.list[est].estimate, est.args(f, term, most+1)...); err != nil {
			return nil, 0, fmt.Errorf("counting prospects: %w", err)
		}
		if n <= most {
			shape.Driver = driveEnrolled
		}
	}

	return s.listPage(ctx, f, s.list[shape].ids, shape.args(f, term, max(countUpTo, end)), countUpTo, offset, end)
}

// listPage runs the ids query and reads the page's prospects and the
// enrollment each is shown with.
func (s *Store) listPage(ctx context.Context, f store.ProspectFilter, query string, args []any, countUpTo, offset, end int64) ([]store.ProspectListRow, int, error) {
	ids, err := listIDs(ctx, s.read.DB, query, args)
	if err != nil {
		return nil, 0, fmt.Errorf("listing prospects: %w", err)
	}
	total := int(min(int64(len(ids)), countUpTo))
	page := ids[min(offset, int64(len(ids))):min(end, int64(len(ids)))]

	byID, err := s.ProspectsByIDs(ctx, page)
	if err != nil {
		return nil, 0, err
	}
	shown, err := s.listedEnrollments(ctx, f, page)
	if err != nil {
		return nil, 0, err
	}
	out := make([]store.ProspectListRow, 0, len(page))
	for _, id := range page {
		p, ok := byID[id]
		if !ok {
			continue // forgotten since the ids were listed
		}
		lr := store.ProspectListRow{Prospect: p}
		if e, ok := shown[id]; ok {
			lr.Enrollment = &e
		}
		out = append(out, lr)
	}
	return out, total, nil
}

// listIDs runs a list:ids query. Scanned by hand: sqlx's scan of 95,000
// ids (a deep page) took longer than the query.
func listIDs(ctx context.Context, db *sqlx.DB, query string, args []any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// listedEnrollments picks the enrollment each listed prospect is shown
// with: of those the filter admits, the one still running if any, else
// the latest changed.
func (s *Store) listedEnrollments(ctx context.Context, f store.ProspectFilter, ids []int64) (map[int64]store.Enrollment, error) {
	shown := map[int64]store.Enrollment{}
	if len(ids) == 0 {
		return shown, nil
	}
	var ers []enrollmentRow
	if err := s.read.SelectContext(ctx, &ers, s.q.EnrollmentsOfProspects, jsonList(ids)); err != nil {
		return nil, fmt.Errorf("listing prospects' enrollments: %w", err)
	}
	for _, r := range ers {
		e := r.enrollment()
		if f.Sequence != "" && e.Sequence != f.Sequence || f.State != "" && e.State != f.State ||
			len(f.Senders) > 0 && !slices.Contains(f.Senders, e.Sender) {
			continue
		}
		if had, ok := shown[e.ProspectID]; !ok || moreRelevant(e, had) {
			shown[e.ProspectID] = e
		}
	}
	return shown, nil
}

// moreRelevant: running before ended, then the latest changed.
func moreRelevant(a, b store.Enrollment) bool {
	if a.State.Terminal() != b.State.Terminal() {
		return !a.State.Terminal()
	}
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return a.UpdatedAt.After(b.UpdatedAt)
	}
	return a.ID > b.ID
}

// SetListDriveMax sets the most rows a filter's enrollments may hold for
// the prospect list to be driven by them: 0 makes every list walk the
// prospects in address order, a large n drives every list with a sequence
// or state by its enrollments. Only the conformance suite calls it, to
// check that both plans list the same.
func (s *Store) SetListDriveMax(n int) { s.driveMax = n }
