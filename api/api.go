// Package api is drip's HTTP interface: the JSON API under /api/v1 (bearer
// token), the health probes, and the public unsubscribe link /u/{token}.
// The handlers only translate HTTP to sequencer.Control and back; what is
// valid and what happens is decided there.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/importer"
	"github.com/drip-email/drip/internal/throttle"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// DefaultMaxBodyBytes is the largest request body accepted by default.
const DefaultMaxBodyBytes = 32 << 20

// Options configure the handler. Control, Config and Unsubscriber are required.
type Options struct {
	Control      *sequencer.Control
	Store        store.Store // default Control.Store
	Config       *configs.Config
	Unsubscriber *mailer.Unsubscriber
	Log          *slog.Logger // default: discard
	// MaxBodyBytes caps a request body (default Config.Engine.MaxBodyBytes,
	// else DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Ready answers /readyz (default: Store.Ping).
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at GET /metrics without the API token
	// (Prometheus scrapes it; the caller wraps it in http.metrics_token).
	Metrics http.Handler
}

type server struct {
	o     Options
	log   *slog.Logger
	mux   *http.ServeMux
	token [sha256.Size]byte // of the API token; zero = no token configured
	// failures throttles failed authentications per client address.
	failures *throttle.Failures
}

// New returns the handler of every route of the contract's HTTP API.
func New(o Options) http.Handler {
	if o.Store == nil && o.Control != nil {
		o.Store = o.Control.Store
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
		if o.Config != nil && o.Config.Engine.MaxBodyBytes > 0 {
			o.MaxBodyBytes = o.Config.Engine.MaxBodyBytes
		}
	}
	if o.Ready == nil {
		o.Ready = o.Store.Ping
	}
	s := &server{o: o, log: o.Log, mux: http.NewServeMux(),
		failures: throttle.New(throttle.DefaultBurst, throttle.DefaultEvery, nil)}
	if tok := o.Config.HTTP.APIToken; tok != "" {
		s.token = sha256.Sum256([]byte(tok))
	}

	s.mux.Handle("POST /api/v1/enrollments", s.api(s.enroll))
	s.mux.Handle("POST /api/v1/imports", s.api(s.importCSV))
	s.mux.Handle("GET /api/v1/prospects", s.api(s.listProspects))
	s.mux.Handle("GET /api/v1/prospects/{email}/export", s.api(s.exportProspect))
	s.mux.Handle("GET /api/v1/prospects/{email}", s.api(s.prospect))
	s.mux.Handle("POST /api/v1/prospects/{email}/pause", s.api(s.pause))
	s.mux.Handle("POST /api/v1/prospects/{email}/resume", s.api(s.resume))
	s.mux.Handle("POST /api/v1/prospects/{email}/unsubscribe", s.api(s.unsubscribe))
	s.mux.Handle("POST /api/v1/prospects/{email}/unenroll", s.api(s.unenroll))
	s.mux.Handle("POST /api/v1/prospects/{email}/move", s.api(s.move))
	s.mux.Handle("POST /api/v1/prospects/{email}/enroll-successor", s.api(s.enrollSuccessor))
	s.mux.Handle("POST /api/v1/bulk/{action}", s.api(s.bulk))
	s.mux.Handle("GET /api/v1/exports/prospects", s.api(s.exportProspects))
	s.mux.Handle("POST /api/v1/prospects/{email}/unsuppress", s.api(s.unsuppress))
	s.mux.Handle("DELETE /api/v1/prospects/{email}", s.api(s.forget))
	s.mux.Handle("GET /api/v1/sequences/{name}/stats", s.api(s.stats))
	s.mux.Handle("GET /api/v1/sequences/{name}/stats.csv", s.api(s.statsCSV))
	s.mux.Handle("GET /api/v1/senders", s.api(s.senders))
	s.mux.Handle("POST /api/v1/senders/{name}/resume", s.api(s.senderResume))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.HandleFunc("GET /u/{token}", s.unsubscribePage)
	s.mux.HandleFunc("POST /u/{token}", s.unsubscribeLink)
	if o.Metrics != nil {
		s.mux.Handle("GET /metrics", o.Metrics)
	}
	return s
}

// ServeHTTP answers what the mux would answer in plain text (no route, a
// wrong method) in JSON, like every other error of the API.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	msg := "no such route"
	if rec.status == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method %s not allowed here (allowed: %s)", r.Method, rec.header.Get("Allow"))
	}
	writeError(w, rec.status, msg)
}

// statusRecorder keeps the status and headers of a response and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }

// apiHandler is an /api route: it returns the error to answer with.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

// api checks the bearer token, caps the body and answers errors in JSON.
func (s *server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := throttle.ClientAddr(r)
		if s.failures.Blocked(client) {
			// Before the token is looked at: a throttled guesser learns nothing.
			w.Header().Set("Retry-After", strconv.Itoa(int(throttle.DefaultEvery/time.Second)))
			writeError(w, http.StatusTooManyRequests, "too many failed authentications from your address; wait a few seconds")
			return
		}
		if !s.authorized(r) {
			if r.Header.Get("Authorization") != "" { // a guess, not a client that sent nothing
				s.failures.Fail(client)
				s.log.Warn("api: authentication refused", "client", client, "route", r.Pattern)
			}
			challenge := `Bearer realm="drip"`
			if r.Header.Get("Authorization") != "" {
				challenge += `, error="invalid_token"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			writeError(w, http.StatusUnauthorized, "missing or wrong API token (Authorization: Bearer <http.api_token>)")
			return
		}
		if r.ContentLength > s.o.MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, s.tooLarge())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// authorized compares the bearer token in constant time. Both sides are
// hashed first, so that not even the token's length shows in the timing.
// With no token configured nothing is authorized.
func (s *server) authorized(r *http.Request) bool {
	if s.token == ([sha256.Size]byte{}) {
		return false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

func (s *server) tooLarge() string {
	return fmt.Sprintf("request body is larger than %d bytes", s.o.MaxBodyBytes)
}

// fail answers err: a UserError with its message and a fitting status,
// anything else as a generic 500 (its text may hold SQL or a DSN), logged.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ue *sequencer.UserError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, s.tooLarge())
	case errors.As(err, &ue):
		writeError(w, userStatus(ue), ue.Msg)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		s.log.Debug("api: request cancelled", "route", r.Pattern)
	default:
		s.log.Error("api: request failed", "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error; the server log has the details")
	}
}

func userStatus(ue *sequencer.UserError) int {
	switch {
	case errors.Is(ue.Kind, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(ue.Kind, store.ErrSuppressed), errors.Is(ue.Kind, store.ErrConflict):
		return http.StatusConflict
	case errors.Is(ue.Kind, sequencer.ErrNoBasis):
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadRequest
}

// badRequest is a 400 about the request itself (not its data).
func badRequest(format string, a ...any) error {
	return &sequencer.UserError{Kind: sequencer.ErrInvalid, Msg: fmt.Sprintf(format, a...)}
}

// writeJSON encodes v before it writes the status: a value that does not
// encode (a time beyond year 9999) answers 500, never a 2xx with an empty
// or cut body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // Message-IDs keep their <>; nosniff keeps it JSON
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		fmt.Fprintf(&body, "{\n  \"error\": %q\n}\n", "internal error: the answer could not be encoded")
		slog.Error("api: encoding the answer failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeJSON reads exactly one JSON object into v, refusing unknown
// fields: a misspelt field must not pass silently.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &sequencer.UserError{Kind: sequencer.ErrInvalid, Msg: fmt.Sprintf("Content-Type %q: send application/json", ct)}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.Is(err, io.EOF):
			return badRequest("empty body: send a JSON object")
		case errors.As(err, &syntax):
			return badRequest("bad JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typ):
			return badRequest("bad JSON: field %s must be a %s, not a %s", typ.Field, typ.Type, typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return badRequest("bad JSON: %v", err)
	}
	if dec.More() {
		return badRequest("bad JSON: more than one value in the body")
	}
	return nil
}

// enrollmentRequest is the body of POST /api/v1/enrollments.
type enrollmentRequest struct {
	Sequence string        `json:"sequence"`
	Sender   string        `json:"sender"`
	Prospect prospectInput `json:"prospect"`
}

type prospectInput struct {
	Email        string            `json:"email"`
	FirstName    string            `json:"first_name"`
	LastName     string            `json:"last_name"`
	Company      string            `json:"company"`
	Title        string            `json:"title"`
	Phone        string            `json:"phone"`
	MetAt        string            `json:"met_at"`
	FirstContact string            `json:"first_contact"`
	Timezone     string            `json:"timezone"`
	Language     string            `json:"language"`
	Notes        string            `json:"notes"`
	Fields       map[string]string `json:"fields"`
	// The lawful basis (and the country require_basis may read).
	sequencer.Basis
}

// enroll answers 201 with the prospect's view, or 200 when the prospect
// was already enrolled in the sequence (nothing new was created).
func (s *server) enroll(w http.ResponseWriter, r *http.Request) error {
	var req enrollmentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p := req.Prospect
	res, err := s.o.Control.Enroll(r.Context(), sequencer.EnrollRequest{
		Sequence: req.Sequence, Sender: req.Sender, FirstContact: p.FirstContact,
		Prospect: store.Prospect{
			Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company,
			Title: p.Title, Phone: p.Phone, MetAt: p.MetAt, Timezone: p.Timezone,
			Language: p.Language, Notes: p.Notes, Fields: sequencer.WithBasis(p.Fields, p.Basis),
		},
	})
	if err != nil {
		return err
	}
	v, err := s.o.Control.ProspectView(r.Context(), res.Prospect.Email)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/api/v1/prospects/"+url.PathEscape(res.Prospect.Email))
	writeJSON(w, status, viewWithWarnings{ProspectView: v, Warnings: res.Warnings})
	return nil
}

// exportProspect answers everything drip holds about the prospect (an
// access request; sequencer.ProspectExport), as a download.
func (s *server) exportProspect(w http.ResponseWriter, r *http.Request) error {
	x, err := s.o.Control.ExportProspect(r.Context(), r.PathValue("email"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="prospect-export.json"`)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, x)
	return nil
}

// viewWithWarnings is a prospect's view, and what the user should know
// about the change just made (the prospect also runs in another sequence).
type viewWithWarnings struct {
	sequencer.ProspectView
	Warnings []string `json:"warnings,omitempty"`
}

// unenroll ends one enrollment without suppressing: ?sequence=S.
func (s *server) unenroll(w http.ResponseWriter, r *http.Request) error {
	email := r.PathValue("email")
	if _, err := s.o.Control.Unenroll(r.Context(), email, r.URL.Query().Get("sequence")); err != nil {
		return err
	}
	return s.writeView(w, r, email)
}

// move moves a prospect between sequences: ?from=S&to=T.
func (s *server) move(w http.ResponseWriter, r *http.Request) error {
	email, q := r.PathValue("email"), r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		return badRequest("from and to are required: ?from=S&to=T")
	}
	res, err := s.o.Control.Move(r.Context(), email, q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	v, err := s.o.Control.ProspectView(r.Context(), email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewWithWarnings{ProspectView: v, Warnings: res.Warnings})
	return nil
}

// importResponse is the answer of POST /api/v1/imports.
type importResponse struct {
	DryRun   bool           `json:"dry_run"`
	Imported int            `json:"imported"`
	Updated  int            `json:"updated"`
	Rejected int            `json:"rejected"`
	Rejects  []importReject `json:"rejects"`
	// RejectsTruncated: more rows were rejected than Rejects lists.
	RejectsTruncated bool `json:"rejects_truncated,omitempty"`
	// Encoding is how the body was read: its name, and whether it was
	// detected or named by a byte order mark.
	Encoding importEncoding `json:"encoding"`
	// Warnings are rows loaded with a warning (the prospect also runs in
	// another sequence), as line and warning.
	Warnings []importWarning `json:"warnings"`
	// Columns is the mapping: every header cell and where it went.
	Columns []importColumn `json:"columns"`
}

type importWarning struct {
	Line    int    `json:"line"`
	Warning string `json:"warning"`
}

type importEncoding struct {
	Name     string `json:"name"`
	Detected bool   `json:"detected"`
	BOM      bool   `json:"bom"`
}

type importColumn struct {
	Header string `json:"header"`
	// Column is the contract's column or the custom field's key; "" when
	// ignored.
	Column string `json:"column"`
	Custom bool   `json:"custom,omitempty"`
	// Via: name, alias, map (the request's map), custom, or ignore.
	Via string `json:"via"`
}

type importReject struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// csvTypes are the Content-Types a CSV upload may come with.
var csvTypes = map[string]bool{
	"text/csv": true, "application/csv": true, "text/plain": true,
	"application/vnd.ms-excel": true, "text/tab-separated-values": true,
}

// importCSV streams the body through the importer: ?sequence=S (required),
// &sender=NAME, &encoding=windows-1252 (or a charset on the Content-Type;
// neither: detected), &map=Header=column,… (as drip import --map),
// &late_start=latest|first (default: the sequence's late_start),
// &dry_run=true.
func (s *server) importCSV(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !csvTypes[mt] {
		writeError(w, http.StatusUnsupportedMediaType, "send the list as text/csv")
		return nil
	}
	encoding := q.Get("encoding")
	if cs := params["charset"]; encoding == "" && cs != "" {
		encoding = cs
	}
	dry := false
	if v := q.Get("dry_run"); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return badRequest("dry_run=%q: use true or false", v)
		}
	}
	mapping, err := importer.ParseMap(q.Get("map"))
	if err != nil {
		return badRequest("map: %v", err)
	}
	if _, err := configs.ParseLateStart(q.Get("late_start")); err != nil {
		return badRequest("%v", err)
	}
	// The body is read to its end before a row is stored: a list over the
	// cap is refused whole (413), never half imported.
	body, err := spool(r.Body)
	if err != nil {
		return err
	}
	defer body.Close()
	sum, err := s.o.Control.Import(r.Context(), body, sequencer.ImportRequest{
		Sequence: q.Get("sequence"), Sender: q.Get("sender"), Encoding: encoding,
		FileName: "body", DryRun: dry, Map: mapping, LateStart: q.Get("late_start"),
	})
	if err != nil {
		return err
	}
	resp := importResponse{DryRun: dry, Imported: sum.Imported, Updated: sum.Updated, Rejected: sum.Rejected,
		Rejects: make([]importReject, len(sum.Rejects)), RejectsTruncated: sum.Rejected > len(sum.Rejects)}
	for i, rj := range sum.Rejects {
		resp.Rejects[i] = importReject{Line: rj.Line, Reason: rj.Reason}
	}
	resp.Warnings = make([]importWarning, len(sum.Warnings))
	for i, w := range sum.Warnings {
		resp.Warnings[i] = importWarning{Line: w.Line, Warning: w.Reason}
	}
	m := sum.Mapping
	resp.Encoding = importEncoding{Name: m.Encoding.Name, Detected: m.Encoding.Detected, BOM: m.Encoding.BOM}
	resp.Columns = make([]importColumn, len(m.Columns))
	for i, c := range m.Columns {
		col := importColumn{Header: c.Header, Column: c.Key, Custom: c.Custom, Via: c.Via}
		if c.Ignored {
			col.Column = ""
		}
		resp.Columns[i] = col
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *server) prospect(w http.ResponseWriter, r *http.Request) error {
	return s.writeView(w, r, r.PathValue("email"))
}

func (s *server) writeView(w http.ResponseWriter, r *http.Request, email string) error {
	v, err := s.o.Control.ProspectView(r.Context(), email)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// pause, resume and unsubscribe answer with the prospect's view after the
// change; doing it again changes nothing and answers the same.
func (s *server) pause(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.o.Control.Pause(r.Context(), r.PathValue("email")); err != nil {
		return err
	}
	return s.writeView(w, r, r.PathValue("email"))
}

func (s *server) resume(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.o.Control.Resume(r.Context(), r.PathValue("email")); err != nil {
		return err
	}
	return s.writeView(w, r, r.PathValue("email"))
}

func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	email := r.PathValue("email")
	// The route names a prospect: an unknown address is a 404, not a new
	// suppression (`drip unsubscribe` suppresses any address).
	if _, err := s.o.Control.Prospect(r.Context(), email); err != nil {
		return err
	}
	if _, err := s.o.Control.Unsubscribe(r.Context(), email, "unsubscribed through the API"); err != nil {
		return err
	}
	return s.writeView(w, r, email)
}

// forget answers 204: nothing is left to show.
func (s *server) forget(w http.ResponseWriter, r *http.Request) error {
	if err := s.o.Control.Forget(r.Context(), r.PathValue("email")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.o.Control.Stats(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// statsCSV is the funnel of stats as CSV (sequencer.WriteFunnelCSV).
func (s *server) statsCSV(w http.ResponseWriter, r *http.Request) error {
	st, err := s.o.Control.Stats(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-funnel.csv"`, st.Sequence))
	return sequencer.WriteFunnelCSV(w, st)
}

// senders is each sender's state (ok or why held), today's sends and its
// capacity for the next 7 days.
func (s *server) senders(w http.ResponseWriter, r *http.Request) error {
	views, gmail, err := s.o.Control.SendersView(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"senders": views, "gmail": gmail})
	return nil
}

// senderResume lifts a sender's hold (drip sender resume).
func (s *server) senderResume(w http.ResponseWriter, r *http.Request) error {
	lifted, err := s.o.Control.SenderResume(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sender": r.PathValue("name"), "was_held": lifted.Reason != "", "reason": lifted.Reason})
	return nil
}

// readyTimeout bounds /readyz: a probe must answer, even when the store hangs.
const readyTimeout = 3 * time.Second

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	// Ready may not return when ctx ends: lib/pq ignores contexts while it
	// starts a connection, so a database that accepts connections and
	// never answers would hold the probe. Wait no longer than ctx.
	done := make(chan error, 1)
	go func() { done <- s.o.Ready(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("the store did not answer within %s", readyTimeout)
	}
	if err != nil {
		s.log.Warn("api: not ready", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the store is not reachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
