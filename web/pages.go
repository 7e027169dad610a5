package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

type option struct {
	Value, Label string
	Selected     bool
}

func (s *server) sequenceOptions(selected string) []option {
	names := s.o.Config.SequenceNames()
	out := make([]option, len(names))
	for i, n := range names {
		label := n
		if seq := s.o.Config.Sequences[n]; seq != nil && seq.Steps > 0 {
			label = fmt.Sprintf("%s (%d emails, every %s)", n, seq.Steps, seq.Interval)
		}
		out[i] = option{Value: n, Label: label, Selected: n == selected}
	}
	return out
}

func (s *server) senderOptions(selected string) []option {
	out := make([]option, len(s.o.Config.Senders))
	for i, snd := range s.o.Config.Senders {
		label := snd.Name
		if snd.From != "" {
			label = snd.Name + " — " + snd.From
		}
		out[i] = option{Value: snd.Name, Label: label, Selected: snd.Name == selected}
	}
	return out
}

// pick is v when it is one of the names, else the first name.
func pick(v string, names []string) string {
	if slices.Contains(names, v) || len(names) == 0 {
		return v
	}
	return names[0]
}

func (s *server) senderNames() []string {
	names := make([]string, len(s.o.Config.Senders))
	for i, snd := range s.o.Config.Senders {
		names[i] = snd.Name
	}
	return names
}

// today is the date of first contact a lead met now gets by default: the
// date in the sequence's zone, by drip's clock.
func (s *server) today(sequence string) string {
	now := time.Now()
	if s.o.Control.Clock != nil {
		now = s.o.Control.Clock.Now()
	}
	if seq := s.o.Config.Sequences[sequence]; seq != nil && seq.Location != nil {
		now = now.In(seq.Location)
	}
	return now.Format(time.DateOnly)
}

// ---------------------------------------------------------------- enrol

// enrollForm holds what was typed, to show it again after a refusal.
type enrollForm struct {
	FirstName, LastName, Email, Company, Title, Phone, MetAt string
	FirstContact, Sequence, Sender, Timezone, Notes          string
	Language                                                 string
	Basis, BasisDate, BasisSource, Country                   string
}

type enrollData struct {
	Form      enrollForm
	Sequences []option
	Senders   []option
	Error     string
	Done      *enrolled
}

// enrolled confirms the last enrolment, with what happens next.
type enrolled struct {
	Email, Name, Sequence string
	Created               bool
	NextStep              *int
	NextSendAt            *time.Time
	// AlsoRunning are the other sequences it runs in: it may get the
	// emails of both (sequencer/control_move.go).
	AlsoRunning []string
}

func (s *server) enrollPage(w http.ResponseWriter, r *http.Request, ss *session) error {
	q := r.URL.Query()
	f := enrollForm{
		Sequence: pick(q.Get("sequence"), s.o.Config.SequenceNames()),
		Sender:   pick(q.Get("sender"), s.sendersOf(ss)),
		MetAt:    q.Get("met_at"),
	}
	f.FirstContact = s.today(f.Sequence)
	d := enrollData{Form: f}
	if email := q.Get("enrolled"); email != "" {
		// The confirmation of the enrolment just made (a page of its own
		// would cost the rep a tap before the next card).
		if v, err := s.o.Control.ProspectView(r.Context(), email); err == nil && mayActOn(ss, v) {
			done := &enrolled{Email: v.Prospect.Email, Name: fullName(v.Prospect.FirstName, v.Prospect.LastName),
				Sequence: q.Get("sequence"), Created: q.Get("new") == "1"}
			for _, e := range v.Enrollments {
				if e.Sequence == done.Sequence {
					done.NextStep, done.NextSendAt = e.NextStep, e.NextSendAt
				} else if !e.State.Terminal() {
					done.AlsoRunning = append(done.AlsoRunning, e.Sequence)
				}
			}
			d.Done = done
		}
	}
	s.renderEnroll(w, r, ss, http.StatusOK, d)
	return nil
}

func (s *server) renderEnroll(w http.ResponseWriter, r *http.Request, ss *session, status int, d enrollData) {
	d.Sequences = s.sequenceOptions(d.Form.Sequence)
	d.Senders = s.senderOptionsOf(ss, d.Form.Sender)
	s.render(w, r, ss, status, "enroll", "Enrol a lead", "enroll", d)
}

func (s *server) enroll(w http.ResponseWriter, r *http.Request, ss *session) error {
	v := r.PostFormValue
	f := enrollForm{
		FirstName: v("first_name"), LastName: v("last_name"), Email: v("email"), Company: v("company"),
		Title: v("title"), Phone: v("phone"), MetAt: v("met_at"), FirstContact: v("first_contact"),
		Sequence: v("sequence"), Sender: v("sender"), Timezone: v("timezone"), Notes: v("notes"),
		Language: v("language"),
		Basis:    v("basis"), BasisDate: v("basis_date"), BasisSource: v("basis_source"), Country: v("country"),
	}
	if msg := repSender(ss, &f.Sender); msg != "" {
		s.renderEnroll(w, r, ss, http.StatusForbidden, enrollData{Form: f, Error: msg})
		return nil
	}
	res, err := s.o.Control.Enroll(r.Context(), sequencer.EnrollRequest{
		Sequence: f.Sequence, Sender: f.Sender, FirstContact: f.FirstContact,
		Prospect: store.Prospect{
			Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, Company: f.Company,
			Title: f.Title, Phone: f.Phone, MetAt: f.MetAt, Timezone: f.Timezone, Notes: f.Notes,
			Language: f.Language,
			Fields: sequencer.WithBasis(nil, sequencer.Basis{Basis: f.Basis, Date: f.BasisDate,
				Source: f.BasisSource, Country: f.Country}),
		},
	})
	var ue *sequencer.UserError
	if errors.As(err, &ue) {
		s.renderEnroll(w, r, ss, userStatus(ue), enrollData{Form: f, Error: ue.Msg})
		return nil
	}
	if err != nil {
		return err
	}
	// Back to an empty card, keeping what the next lead of the same fair
	// shares, with a word on the one just enrolled.
	q := url.Values{"enrolled": {res.Prospect.Email}, "sequence": {res.Enrollment.Sequence},
		"sender": {res.Enrollment.Sender}, "new": {"0"}}
	if res.Created {
		q.Set("new", "1")
	}
	if f.MetAt != "" {
		q.Set("met_at", strings.TrimSpace(f.MetAt))
	}
	http.Redirect(w, r, Prefix+"/enroll?"+q.Encode(), http.StatusSeeOther)
	return nil
}

func fullName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

// ---------------------------------------------------------------- import

type importData struct {
	Sequences []option
	Senders   []option
	Encodings []option
	// LateStarts: the sequence's own late_start, or latest or first.
	LateStarts []option
	DryRun     bool
	Map        string // the --map text
	CSV        string // the pasted text, shown again after a refusal
	Error      string
	Result     *importResult
}

type importResult struct {
	importer.Summary
	DryRun    bool
	Truncated bool // more rejects than listed
}

func (s *server) importPage(w http.ResponseWriter, r *http.Request, ss *session) error {
	if !ss.ops() {
		return errOpsOnly
	}
	d := importData{
		Sequences: s.sequenceOptions(pick("", s.o.Config.SequenceNames())),
		Senders:   s.senderOptions(pick("", s.senderNames())),
		Encodings: encodingOptions(""), LateStarts: lateStartOptions(""),
	}
	s.render(w, r, ss, http.StatusOK, "import", "Load a list", "import", d)
	return nil
}

func (s *server) importList(w http.ResponseWriter, r *http.Request, ss *session) error {
	if !ss.ops() {
		return errOpsOnly
	}
	v := r.PostFormValue
	req := sequencer.ImportRequest{
		Sequence: v("sequence"), Sender: v("sender"), Encoding: v("encoding"),
		DryRun: v("dry_run") != "", FileName: "pasted list", LateStart: v("late_start"),
	}
	d := importData{
		Sequences: s.sequenceOptions(req.Sequence), Senders: s.senderOptions(req.Sender),
		Encodings: encodingOptions(req.Encoding), LateStarts: lateStartOptions(req.LateStart),
		DryRun: req.DryRun, Map: v("map"),
	}
	var err error
	if req.Map, err = importer.ParseMap(d.Map); err != nil {
		d.Error = "Column mapping: " + err.Error()
		s.render(w, r, ss, http.StatusUnprocessableEntity, "import", "Load a list", "import", d)
		return nil
	}
	var in io.Reader
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 && r.MultipartForm.File["file"][0].Size > 0 {
		fh := r.MultipartForm.File["file"][0]
		file, err := fh.Open()
		if err != nil {
			return fmt.Errorf("opening the upload: %w", err)
		}
		defer file.Close()
		in, req.FileName = file, fh.Filename
	} else if text := v("csv"); strings.TrimSpace(text) != "" {
		in, d.CSV = strings.NewReader(text), text
	} else {
		d.Error = "Paste a list or choose a file."
		s.render(w, r, ss, http.StatusUnprocessableEntity, "import", "Load a list", "import", d)
		return nil
	}
	sum, err := s.o.Control.Import(r.Context(), in, req)
	var ue *sequencer.UserError
	if errors.As(err, &ue) {
		d.Error = ue.Msg
		s.render(w, r, ss, userStatus(ue), "import", "Load a list", "import", d)
		return nil
	}
	if err != nil {
		return err
	}
	d.CSV = "" // loaded: the box is free for the next list
	d.Result = &importResult{Summary: sum, DryRun: req.DryRun, Truncated: sum.Rejected > len(sum.Rejects)}
	s.render(w, r, ss, http.StatusOK, "import", "Load a list", "import", d)
	return nil
}

// encodingLabels say where a list in each encoding comes from.
var encodingLabels = map[string]string{
	"utf-8":        "UTF-8",
	"utf-16":       "UTF-16 (Excel's Unicode text)",
	"windows-1252": "Windows-1252 (Excel, Western Europe)",
	"windows-1250": "Windows-1250 (Excel, Central Europe)",
	"iso-8859-1":   "ISO-8859-1 (Latin-1)",
	"iso-8859-15":  "ISO-8859-15 (Latin-9)",
	"iso-8859-2":   "ISO-8859-2 (Latin-2)",
}

func encodingOptions(selected string) []option {
	out := []option{{Value: "", Label: "Detect (UTF-8, Windows-1252, Windows-1250, ISO-8859-2)", Selected: selected == ""}}
	for _, name := range importer.EncodingNames {
		label := encodingLabels[name]
		if label == "" {
			label = name
		}
		out = append(out, option{Value: name, Label: label, Selected: name == selected})
	}
	return out
}

// lateStartOptions: the sequence's own late_start, or either of its values.
func lateStartOptions(selected string) []option {
	return []option{
		{Value: "", Label: "As the sequence says (late_start)", Selected: selected == ""},
		{Value: string(configs.LateStartLatest), Label: "Latest past-due step (skip the earlier ones)", Selected: selected == string(configs.LateStartLatest)},
		{Value: string(configs.LateStartFirst), Label: "Step 1 at the next window, keeping the spacing", Selected: selected == string(configs.LateStartFirst)},
	}
}

// ---------------------------------------------------------------- prospects

type prospectsData struct {
	Held      []heldSender // senders of this user that send nothing now, and why
	Search    string
	State     string
	Sequence  string
	States    []option
	Sequences []option
	Rows      []listRow
	Total     int
	More      bool // there are more than Total
	Page      int
	Pages     int // 0 when More: not counted
	First     int // 1-based index of the first row shown
	Last      int
	PrevURL   string
	ExportURL string // the list as filtered, as a CSV file (ops only)
	NextURL   string

	// Bulk actions on the ticked rows (bulk.go).
	BackURL       string // this page, where the action comes back to
	SelectAllURL  string // this page with every row ticked
	SelectAll     bool
	BulkActions   []option
	BulkSequences []option // for "take out of the sequence"
	BulkMsg       string   // what the last bulk action did
}

// heldSender is a held sender (R9) as the prospects page says it.
type heldSender struct {
	Name, Why, Detail string
	Until             time.Time
	Resume            bool // only drip sender resume ends it
}

// heldSenders lists the holds of the senders the session may see.
func (s *server) heldSenders(ctx context.Context, ss *session) ([]heldSender, error) {
	now := time.Now()
	if s.o.Control.Clock != nil {
		now = s.o.Control.Clock.Now()
	}
	holds, err := s.o.Store.SenderHolds(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("reading sender holds: %w", err)
	}
	mine := ss.senders()
	var out []heldSender
	for _, h := range holds {
		if mine != nil && !slices.Contains(mine, h.Sender) {
			continue
		}
		hs := heldSender{Name: h.Sender, Detail: h.Detail, Until: h.Until, Why: holdWhy[h.Reason]}
		if hs.Why == "" {
			hs.Why = h.Reason
		}
		if h.Reason == store.HoldBreaker {
			hs.Resume = true
		}
		out = append(out, hs)
	}
	return out, nil
}

// holdWhy says each hold reason for people.
var holdWhy = map[string]string{
	store.HoldDailyLimit:  "its daily limit is used up",
	store.HoldAuth:        "its mail server refused the login or the sender address",
	store.HoldUnreachable: "its mail server cannot be reached",
	store.HoldThrottled:   "its provider says it sends too much",
	store.HoldBreaker:     "its circuit breaker tripped (too many bounces, or its provider blocked it)",
	store.HoldReauth:      "its mailbox must be signed in again (drip mailbox connect)",
}

type listRow struct {
	Email, Name, Company string
	Sequence             string
	State                store.State
	Step, Steps          int // emails handled so far, of the sequence's
	NextSendAt           *time.Time
}

// maxPage bounds the page number: OFFSET beyond it is a long scan for
// nobody.
const maxPage = 100000

func (s *server) prospectsPage(w http.ResponseWriter, r *http.Request, ss *session) error {
	q := r.URL.Query()
	d := prospectsData{Search: strings.TrimSpace(q.Get("q")), Page: 1}
	if st := store.State(q.Get("state")); slices.Contains(store.States, st) {
		d.State = string(st)
	}
	if seq := q.Get("sequence"); slices.Contains(s.o.Config.SequenceNames(), seq) {
		d.Sequence = seq
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = min(p, maxPage)
	}
	size := s.o.PageSize
	offset := (d.Page - 1) * size
	counted := max(s.o.CountPast, offset+size)
	rows, total, err := s.o.Store.ProspectList(r.Context(), store.ProspectFilter{
		Sequence: d.Sequence, State: store.State(d.State), Search: d.Search, Senders: ss.senders(),
		Limit: size, Offset: offset, CountUpTo: counted + 1,
	})
	if err != nil {
		return fmt.Errorf("listing prospects: %w", err)
	}
	if total > counted {
		d.Total, d.More = counted, true
	} else {
		d.Total, d.Pages = total, max(1, (total+size-1)/size)
	}
	d.Rows = make([]listRow, len(rows))
	for i, lr := range rows {
		d.Rows[i] = s.listRow(lr)
	}
	if d.Held, err = s.heldSenders(r.Context(), ss); err != nil {
		return err
	}
	if len(rows) > 0 {
		d.First = (d.Page-1)*size + 1
		d.Last = d.First + len(rows) - 1
	}
	link := func(page int) string {
		v := url.Values{}
		if d.Search != "" {
			v.Set("q", d.Search)
		}
		if d.State != "" {
			v.Set("state", d.State)
		}
		if d.Sequence != "" {
			v.Set("sequence", d.Sequence)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return Prefix + "/prospects"
		}
		return Prefix + "/prospects?" + v.Encode()
	}
	if ss.ops() {
		d.ExportURL = strings.Replace(link(1), Prefix+"/prospects", Prefix+"/prospects.csv", 1)
	}
	d.BackURL = link(d.Page)
	d.SelectAllURL = withQuery(d.BackURL, url.Values{"select": {"all"}})
	d.SelectAll = q.Get("select") == "all"
	d.BulkActions = bulkLabels
	d.BulkMsg = bulkMessage(q)
	d.BulkSequences = s.sequenceOptions(d.Sequence)
	if d.Page > 1 {
		prev := d.Page - 1
		if !d.More {
			prev = min(prev, d.Pages)
		}
		d.PrevURL = link(prev)
	}
	if d.More && len(rows) == size || d.Page < d.Pages {
		d.NextURL = link(d.Page + 1)
	}
	d.States = []option{{Value: "", Label: "any state", Selected: d.State == ""}}
	for _, st := range store.States {
		d.States = append(d.States, option{Value: string(st), Label: string(st), Selected: string(st) == d.State})
	}
	d.Sequences = append([]option{{Value: "", Label: "any sequence", Selected: d.Sequence == ""}},
		s.sequenceOptions(d.Sequence)...)
	for i := range d.Sequences[1:] {
		d.Sequences[i+1].Label = d.Sequences[i+1].Value
	}
	s.render(w, r, ss, http.StatusOK, "prospects", "Prospects", "prospects", d)
	return nil
}

// listRow is a prospect as the list shows it: the step and next send time
// of its listed enrollment, in the prospect's zone.
func (s *server) listRow(lr store.ProspectListRow) listRow {
	p := lr.Prospect
	row := listRow{Email: p.Email, Name: fullName(p.FirstName, p.LastName), Company: p.Company}
	e := lr.Enrollment
	if e == nil {
		return row
	}
	row.Sequence, row.State, row.Step = e.Sequence, e.State, e.LastStep
	seq := s.o.Config.Sequences[e.Sequence]
	if seq != nil {
		row.Steps = seq.Steps
	}
	if e.State == store.StateActive && e.NextSendAt != nil {
		t := e.NextSendAt.In(s.zone(p, seq))
		row.NextSendAt = &t
	}
	return row
}

// zone is the prospect's time zone, as sequencer.Location reads it, with
// the zone database read once per name.
func (s *server) zone(p store.Prospect, seq *configs.Sequence) *time.Location {
	if p.Timezone != "" {
		if loc, ok := s.zones.Load(p.Timezone); ok {
			return loc.(*time.Location)
		}
		if loc, err := time.LoadLocation(p.Timezone); err == nil {
			s.zones.Store(p.Timezone, loc)
			return loc
		}
	}
	if seq != nil {
		return sequencer.Location(store.Prospect{}, seq)
	}
	return time.UTC
}

// ---------------------------------------------------------------- prospect

type prospectData struct {
	View      sequencer.ProspectView
	Name      string
	Timeline  []sequencer.TimelineEntry // newest first
	CanPause  bool
	CanResume bool
	CanUnsub  bool
	Flash     string
	// Flagged counts the inbound messages kept for review (timeline kind
	// flagged): mail that could be forged, which drip did not act on.
	Flagged     int
	ActionsBase string
	PhoneURL    template.URL // tel: link, only digits and +
	// Successors: the sequences whose successor may be enrolled from here
	// (web/successor.go).
	Successors map[string]bool
}

// flashes are the only words a redirect may ask a page to say: the query
// names one, it never carries the text.
var flashes = map[string]string{
	"paused":             "Paused: nothing more is sent until you resume.",
	"nothing-paused":     "Nothing to pause: no sequence is running for this prospect.",
	"unenrolled":         "Taken out of that sequence. The address is not suppressed: other sequences go on.",
	"resumed":            "Resumed: the sequence goes on with its next email.",
	"nothing-resumed":    "Nothing to resume: no sequence is paused for this prospect.",
	"unsubscribed":       "Unsubscribed: this address will never be written to again.",
	"successor-enrolled": "Enrolled as the successor of someone who left the company: same sequence, sender and \"met at\".",
	"successor-known":    "Already enrolled in that sequence: nothing changed.",
}

func (s *server) prospectPage(w http.ResponseWriter, r *http.Request, ss *session) error {
	v, err := s.o.Control.ProspectView(r.Context(), r.PathValue("email"))
	if err != nil {
		return err
	}
	if !mayActOn(ss, v) {
		return errNotFound
	}
	d := prospectData{View: v, Name: fullName(v.Prospect.FirstName, v.Prospect.LastName),
		Flash: flashes[r.URL.Query().Get("done")], CanUnsub: !v.Prospect.Suppressed,
		ActionsBase: prospectURL(v.Prospect.Email), PhoneURL: telURL(v.Prospect.Phone),
		Successors: successorOffers(ss, v)}
	for _, e := range v.Enrollments {
		d.CanPause = d.CanPause || e.State == store.StateActive
		d.CanResume = d.CanResume || e.State.Paused()
	}
	d.Timeline = make([]sequencer.TimelineEntry, len(v.Timeline))
	for i, e := range v.Timeline {
		d.Timeline[len(v.Timeline)-1-i] = e
		if e.Kind == store.EventFlagged {
			d.Flagged++
		}
	}
	title := d.Name
	if title == "" {
		title = v.Prospect.Email
	}
	s.render(w, r, ss, http.StatusOK, "prospect", title, "prospects", d)
	return nil
}

func (s *server) prospectAction(w http.ResponseWriter, r *http.Request, ss *session) error {
	email := r.PathValue("email")
	ctx := r.Context()
	if !ss.ops() {
		v, err := s.o.Control.ProspectView(ctx, email)
		if err != nil {
			return err
		}
		if !mayActOn(ss, v) {
			return errNotFound
		}
	}
	var done string
	switch r.PathValue("action") {
	case "enroll-successor":
		return s.enrollSuccessor(w, r, ss)
	case "pause":
		ens, err := s.o.Control.Pause(ctx, email)
		if err != nil {
			return err
		}
		done = "paused"
		if len(ens) == 0 {
			done = "nothing-paused"
		}
	case "resume":
		ens, err := s.o.Control.Resume(ctx, email)
		if err != nil {
			return err
		}
		done = "resumed"
		if len(ens) == 0 {
			done = "nothing-resumed"
		}
	case "unsubscribe":
		// The page names a prospect: an unknown address is not found, not
		// a new suppression.
		if _, err := s.o.Control.Prospect(ctx, email); err != nil {
			return err
		}
		if _, err := s.o.Control.Unsubscribe(ctx, email, "unsubscribed by hand in the web UI"); err != nil {
			return err
		}
		done = "unsubscribed"
	case "unenroll":
		// One sequence, without suppressing (sequencer/control_move.go).
		if _, err := s.o.Control.Unenroll(ctx, email, r.PostFormValue("sequence")); err != nil {
			return err
		}
		done = "unenrolled"
	default:
		return errNotFound
	}
	http.Redirect(w, r, prospectURL(email)+"?done="+done, http.StatusSeeOther)
	return nil
}

// telURL makes a phone number tappable. html/template refuses tel: URLs
// as it refuses every scheme it does not know; this one is safe to allow
// because it keeps only digits and a leading +.
func telURL(phone string) template.URL {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		}
	}
	if digits := strings.TrimPrefix(b.String(), "+"); len(digits) < 3 {
		return ""
	}
	return template.URL("tel:" + b.String())
}

// ---------------------------------------------------------------- funnel

type funnelData struct {
	Sequences []funnelSeq
	ExportURL string // the funnel as CSV (ops only)
}

type funnelSeq struct {
	sequencer.SequenceStats
	States []stateCount
	Active int // enrollments not ended
	All    int
	// ByLanguage: some prospect has a language, so the funnel by
	// language says something the total does not.
	ByLanguage bool
}

type stateCount struct {
	State store.State
	N     int
}

func (s *server) funnelPage(w http.ResponseWriter, r *http.Request, ss *session) error {
	all, err := s.o.Control.StatsAll(r.Context())
	if err != nil {
		return err
	}
	d := funnelData{Sequences: make([]funnelSeq, len(all))}
	if ss.ops() {
		d.ExportURL = Prefix + "/funnel.csv"
	}
	for i, st := range all {
		fs := funnelSeq{SequenceStats: st}
		fs.ByLanguage = len(st.Languages) > 1 || len(st.Languages) == 1 && st.Languages[0].Language != ""
		for _, state := range store.States {
			n := st.Enrollments[state]
			fs.States = append(fs.States, stateCount{State: state, N: n})
			fs.All += n
			if !state.Terminal() {
				fs.Active += n
			}
		}
		d.Sequences[i] = fs
	}
	s.render(w, r, ss, http.StatusOK, "funnel", "Funnel", "funnel", d)
	return nil
}
