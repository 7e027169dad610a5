package sequencer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/store"
)

// ImportRequest loads a prospect list (CSV) into a sequence.
type ImportRequest struct {
	Sequence string
	Sender   string // sender of rows without a sender cell; "" = the first configured
	Encoding string // see importer.Options.Encoding ("" detects it)
	// Map maps header cells to columns beyond the built-in aliases (see
	// importer.ParseMap).
	Map map[string]string
	// OnMapping, when set, sees how the file is read before any row loads.
	OnMapping func(importer.Mapping)
	FileName  string // for messages; "" = "input"
	// LateStart overrides the sequence's late_start for this import's new
	// enrollments ("" = the sequence's): see latestart.go.
	LateStart string
	// DryRun validates every row and stores nothing. With a Store it
	// counts exactly what the import would: a known prospect as updated, a
	// suppressed address as rejected (it only reads the store). Without
	// one (no database yet) every address is new.
	DryRun    bool
	RejectTo  io.Writer                           // the reject file, if wanted
	Progress  func(rowsDone int, bytesRead int64) // see importer.Options.Progress
	BatchSize int                                 // rows per transaction; 0 = engine.import_batch
}

// Import reads a list from in and enrols its good rows in the sequence,
// each with its first send planned by the rules; existing enrollments stay
// as they are. Rows are rejected for what importer.Import rejects, for a
// suppressed address, and for a custom field the sequence declares and the
// row leaves empty.
//
// The summary counts what the store holds, also when an error ends the
// import early. An error about the file itself (empty, no email column,
// unreadable) is a UserError of kind ErrInvalid; one of the store is not.
func (c *Control) Import(ctx context.Context, in io.Reader, req ImportRequest) (importer.Summary, error) {
	seq, err := c.sequence(req.Sequence)
	if err != nil {
		return importer.Summary{}, err
	}
	sender, err := c.sender(req.Sender)
	if err != nil {
		return importer.Summary{}, err
	}
	senders := make([]string, len(c.Config.Senders))
	for i, s := range c.Config.Senders {
		senders[i] = s.Name
	}
	lateStart := seq.LateStart
	if req.LateStart != "" {
		if lateStart, err = configs.ParseLateStart(req.LateStart); err != nil {
			return importer.Summary{}, invalidf("%s", err)
		}
	}
	now := c.now()
	opts := importer.Options{
		FileName: req.FileName, Encoding: req.Encoding, DefaultTimezone: seq.Location, Now: now,
		DefaultSender: sender, Senders: senders, BatchSize: req.BatchSize,
		RejectTo: req.RejectTo, Progress: req.Progress, Map: req.Map, OnMapping: req.OnMapping,
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = c.Config.Engine.ImportBatch
	}
	sink := &importSink{c: c, st: c.Store, seq: seq, lateStart: lateStart, now: now, dry: req.DryRun}
	if req.DryRun {
		sink.seen = map[uint64]struct{}{}
		sink.seed = maphash.MakeSeed()
	}
	sum, err := importer.Import(ctx, in, opts, sink)
	if (sum.Imported > 0 || sink.replanned > 0) && !req.DryRun {
		c.wake()
	}
	switch {
	case err == nil:
		return sum, nil
	case sink.err != nil, ctx.Err() != nil:
		return sum, err
	}
	// The file's fault: unreadable, no header, a runaway quote.
	return sum, &UserError{Kind: ErrInvalid, Msg: err.Error(), cause: err}
}

// importSink plans and stores the rows of one import (importer.Sink).
type importSink struct {
	c   *Control
	st  store.Store
	seq *configs.Sequence
	now time.Time
	err error // the store's failure that ended the import

	lateStart configs.LateStart // the sequence's, or the import's override

	replanned int // enrollments a corrected first contact moved

	batch []store.ImportRow
	index []int // batch[j] is rows[index[j]]

	// Most rows of a list share their zone and first contact (none given:
	// the moment of import; or one of a few fair days), and so their plan:
	// a small memory of plans saves planning each row.
	plans map[planKey]plan

	// Dry runs count as importer's own dry run does (see its package
	// comment): a set of hashes of the addresses seen.
	dry  bool
	seen map[uint64]struct{}
	seed maphash.Seed
}

func (s *importSink) Apply(ctx context.Context, rows []importer.Row) ([]importer.Outcome, error) {
	out := make([]importer.Outcome, len(rows))
	s.batch, s.index = s.batch[:0], s.index[:0]
	for i, r := range rows {
		out[i].Line = r.Line
		if f, err := s.missingField(ctx, r); err != nil {
			s.err = err
			return nil, err
		} else if f != "" {
			out[i].Err = fmt.Errorf("missing custom field %q: sequence %s uses it in its templates", f, s.seq.Name)
			continue
		}
		if msg, err := s.missingBasis(ctx, r); err != nil {
			s.err = err
			return nil, err
		} else if msg != "" {
			out[i].Err = &UserError{Kind: ErrNoBasis, Msg: msg}
			continue
		}
		if s.dry {
			if err := s.dryRow(ctx, r, &out[i]); err != nil {
				s.err = err
				return nil, err
			}
			continue
		}
		if s.seq.Exclusive {
			if _, _, refusal, err := s.known(ctx, r); err != nil {
				s.err = err
				return nil, err
			} else if refusal != nil {
				out[i].Err = refusal
				continue
			}
		}
		ir := r.ImportRow(s.seq.Name)
		p := s.plan(r)
		ir.Anchor, ir.NextSendAt = p.anchor, p.next
		s.batch = append(s.batch, ir)
		s.index = append(s.index, i)
	}
	if len(s.batch) == 0 {
		return out, nil
	}
	res, err := s.st.ImportBatch(ctx, s.batch)
	if err == nil && len(res) != len(s.batch) {
		err = fmt.Errorf("the store answered %d results for %d rows", len(res), len(s.batch))
	}
	if err != nil {
		s.err = err
		return nil, err
	}
	for j, i := range s.index {
		out[i].Created, out[i].Err = res[j].Created, res[j].Err
		if !res[j].Known || out[i].Err != nil {
			continue
		}
		if err := s.afterUpdate(ctx, rows[i], res[j], &out[i]); err != nil {
			s.err = err
			return nil, err
		}
	}
	clear(s.batch) // drop the references to the rows' data
	return out, nil
}

// dryRow answers for one row of a dry run what ImportBatch would: refused
// when suppressed, an update when the store or an earlier row of the file
// has the address, else new. Only rows that would be stored count as seen.
func (s *importSink) dryRow(ctx context.Context, r importer.Row, out *importer.Outcome) error {
	h := maphash.String(s.seed, store.NormalizeEmail(r.Prospect.Email))
	if _, dup := s.seen[h]; dup {
		return nil // Created false: updated
	}
	if s.st != nil {
		sup, err := s.st.Suppressed(ctx, r.Prospect.Email)
		if err != nil {
			return fmt.Errorf("checking the suppression list: %w", err)
		}
		if sup {
			out.Err = fmt.Errorf("line %d: %w", r.Line, store.ErrSuppressed)
			return nil
		}
		p, ens, refusal, err := s.known(ctx, r)
		switch {
		case err != nil:
			return err
		case refusal != nil:
			out.Err = refusal
			return nil
		case p != nil:
			s.seen[h] = struct{}{}
			warn(*p, ens, s.seq, out)
			return nil
		}
	}
	s.seen[h] = struct{}{}
	out.Created = true
	return nil
}

// known looks up the stored prospect of row r and its enrollments:
// warnings when it runs in another sequence, or the refusal of an
// exclusive sequence. p is nil for an address not stored.
func (s *importSink) known(ctx context.Context, r importer.Row) (p *store.Prospect, ens []store.Enrollment, refusal error, err error) {
	got, err := s.st.ProspectGetByEmail(ctx, r.Prospect.Email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("looking up prospect: %w", err)
	}
	if ens, err = s.st.EnrollmentsByProspect(ctx, got.ID); err != nil {
		return nil, nil, nil, fmt.Errorf("reading enrollments: %w", err)
	}
	if _, err := secondSequence(got.Email, ens, s.seq, ""); err != nil {
		return &got, ens, err, nil
	}
	return &got, ens, nil, nil
}

// afterUpdate handles a row that updated a prospect known before the
// batch, from its enrollments as the store read them in the batch (no
// query unless there is something to re-plan): a first contact that
// differs from its running enrollments' re-plans them
// (control_replan.go), and a prospect running in another sequence gets a
// warning.
func (s *importSink) afterUpdate(ctx context.Context, r importer.Row, res store.ImportResult, out *importer.Outcome) error {
	p := store.Prospect{ID: res.ProspectID, Email: r.Prospect.Email}
	warn(p, res.Enrollments, s.seq, out)
	if !r.FirstContactGiven || !slices.ContainsFunc(res.Enrollments, func(e store.Enrollment) bool {
		return running(e) && !e.FirstContact.Equal(r.FirstContact)
	}) {
		return nil
	}
	p, err := s.st.ProspectGet(ctx, res.ProspectID) // its zone, for the plan
	if err != nil {
		return fmt.Errorf("looking up prospect: %w", err)
	}
	moved, err := s.c.replanFirstContact(ctx, p, r.FirstContact)
	s.replanned += len(moved)
	return err
}

// warn sets the row's warning when the prospect runs in another sequence
// (a re-plan changes no state, so ens read before it still tells).
func warn(p store.Prospect, ens []store.Enrollment, seq *configs.Sequence, out *importer.Outcome) {
	if w, _ := secondSequence(p.Email, ens, seq, ""); len(w) > 0 {
		out.Warning = w[0]
	}
}

// planKey is what a new enrollment's plan depends on, besides the
// sequence and the import's moment.
type planKey struct {
	loc   *time.Location
	first int64 // FirstContact, unix nanoseconds
}

// maxPlans bounds the memory of plans: a list whose every row has its own
// first contact plans each one, as without the memory.
const maxPlans = 4096

// plan is how a new enrollment starts: its anchor (late_start) and
// its first send.
type plan struct {
	anchor time.Time
	next   *time.Time
}

// plan is the start of a new enrollment of row r.
func (s *importSink) plan(r importer.Row) plan {
	k := planKey{loc: r.Location, first: r.FirstContact.UnixNano()}
	if p, ok := s.plans[k]; ok {
		return p
	}
	anchor := LateStartAnchor(s.lateStart, r.FirstContact, s.seq, r.Location, s.now)
	e := store.Enrollment{State: store.StateActive, FirstContact: r.FirstContact, Anchor: anchor}
	p := plan{anchor: anchor, next: Plan(e, s.seq, r.Location, s.now)}
	if s.plans == nil || len(s.plans) >= maxPlans {
		s.plans = map[planKey]plan{}
	}
	s.plans[k] = p
	return p
}

// missingBasis says why the row cannot be enrolled for want of a lawful
// basis (require_basis), the stored prospect's counting too, or "".
func (s *importSink) missingBasis(ctx context.Context, r importer.Row) (string, error) {
	rb := s.seq.RequireBasis
	if !rb.All && len(rb.Codes) == 0 || strings.TrimSpace(r.Prospect.Fields[importer.FieldBasis]) != "" {
		return "", nil
	}
	var known store.Prospect
	if s.st != nil {
		p, err := s.st.ProspectGetByEmail(ctx, r.Prospect.Email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("looking up prospect: %w", err)
		}
		known = p
	}
	return basisMissing(s.seq, r.Prospect, known), nil
}

// missingField is the first custom field the sequence declares that the
// row leaves empty and the stored prospect (if any) does not have either.
func (s *importSink) missingField(ctx context.Context, r importer.Row) (string, error) {
	var known *store.Prospect
	for _, f := range s.seq.Fields {
		if strings.TrimSpace(r.Prospect.Fields[f]) != "" {
			continue
		}
		if s.st == nil { // a dry run without a store
			return f, nil
		}
		if known == nil {
			p, err := s.st.ProspectGetByEmail(ctx, r.Prospect.Email)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return "", fmt.Errorf("looking up prospect: %w", err)
			}
			known = &p
		}
		if strings.TrimSpace(known.Fields[f]) == "" {
			return f, nil
		}
	}
	return "", nil
}
