// Package web is drip's browser front end for sales reps: sign in with the
// API token, enrol a lead from a business card, load a list, see where
// every prospect stands, pause, resume or unsubscribe one, and read each
// sequence's funnel. Pages are rendered on the server with html/template
// and work without JavaScript, on a phone first.
//
// The handlers only translate forms to sequencer.Control and back, as the
// JSON API does: what is valid and what happens is decided there.
// Everything lives under /ui/; Mount puts it beside the API.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// Prefix is where the UI is served.
const Prefix = "/ui"

// Defaults of Options.
const (
	DefaultSessionTTL   = 12 * time.Hour // a day at a trade fair
	DefaultPageSize     = 50
	DefaultCountPast    = 10_000
	DefaultMaxBodyBytes = 32 << 20 // as the API's
)

// Options configure the handler. Control is required.
type Options struct {
	Control *sequencer.Control
	Store   store.Store     // default Control.Store
	Config  *configs.Config // default Control.Config; its http.api_token signs people in
	Log     *slog.Logger    // default: discard
	// Now is the wall clock of sign-in sessions (default time.Now). It is
	// not Control's clock: a demo's compressed clock must not sign people
	// out in minutes.
	Now        func() time.Time
	SessionTTL time.Duration // default DefaultSessionTTL
	PageSize   int           // prospects per list page; default DefaultPageSize
	// CountPast is how far the prospect list counts: to the end of the
	// page shown or CountPast, whichever is further, and says "more than"
	// that beyond (default DefaultCountPast). Counting 99,700 prospects in
	// a state cost more than the page itself (80 ms of 100,000
	// prospects); counting 10,000 costs a tenth of that.
	CountPast    int
	MaxBodyBytes int64 // default Config.Engine.MaxBodyBytes, else DefaultMaxBodyBytes
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

type server struct {
	o      Options
	log    *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	auth   *sessions
	static http.Handler
	css    string // the stylesheet's URL
	// zones caches time zones by name: time.LoadLocation reads the zone
	// database on every call, and a list page shows fifty prospects.
	zones sync.Map // string -> *time.Location
}

// New returns the handler of every page under Prefix.
func New(o Options) (http.Handler, error) {
	if o.Control == nil {
		return nil, errors.New("web: Options.Control is required")
	}
	if o.Store == nil {
		o.Store = o.Control.Store
	}
	if o.Config == nil {
		o.Config = o.Control.Config
	}
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("web: a store and a configuration are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.CountPast <= 0 {
		o.CountPast = DefaultCountPast
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
		if o.Config.Engine.MaxBodyBytes > 0 {
			o.MaxBodyBytes = o.Config.Engine.MaxBodyBytes
		}
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	css, err := styleURL()
	if err != nil {
		return nil, err
	}
	s := &server{
		o: o, log: o.Log, mux: http.NewServeMux(), pages: pages, css: css,
		auth:   newSessions(o.Config.HTTP.APIToken, o.SessionTTL, o.Now, secureCookies(o.Config), o.Store, o.Log),
		static: http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)),
	}
	s.routes()
	return s, nil
}

// Mount serves ui under Prefix, sends a browser asking for / to it, and
// hands every other request to next (the API, probes, unsubscribe links).
func Mount(ui, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", ui)
	mux.Handle("GET /{$}", http.RedirectHandler(Prefix+"/", http.StatusFound))
	mux.Handle("/", next)
	return mux
}

func (s *server) routes() {
	m := s.mux
	m.HandleFunc("GET "+Prefix+"/static/", s.serveStatic)
	m.HandleFunc("GET "+Prefix+"/signin", s.signinPage)
	m.HandleFunc("POST "+Prefix+"/signin", s.signin)
	m.Handle("POST "+Prefix+"/signout", s.post(s.signout))

	m.Handle("GET "+Prefix+"/{$}", s.page(func(w http.ResponseWriter, r *http.Request, _ *session) error {
		http.Redirect(w, r, Prefix+"/enroll", http.StatusSeeOther)
		return nil
	}))
	m.Handle("GET "+Prefix+"/enroll", s.page(s.enrollPage))
	m.Handle("POST "+Prefix+"/enroll", s.post(s.enroll))
	m.Handle("GET "+Prefix+"/import", s.page(s.importPage))
	m.Handle("POST "+Prefix+"/import", s.post(s.importList))
	m.Handle("GET "+Prefix+"/prospects", s.page(s.prospectsPage))
	m.Handle("GET "+Prefix+"/prospects.csv", s.page(s.exportProspects))
	m.Handle("GET "+Prefix+"/prospects/{email}", s.page(s.prospectPage))
	m.Handle("POST "+Prefix+"/prospects/bulk", s.post(s.prospectsBulk))
	m.Handle("GET "+Prefix+"/prospects/{email}/export.json", s.page(s.exportProspectJSON))
	m.Handle("POST "+Prefix+"/prospects/{email}/{action}", s.post(s.prospectAction))
	m.Handle("GET "+Prefix+"/funnel", s.page(s.funnelPage))
	m.Handle("GET "+Prefix+"/funnel.csv", s.page(s.funnelCSV))
	// Anything else: not found, but only to someone signed in (a guess at
	// a URL learns nothing).
	m.Handle(Prefix+"/", s.page(func(w http.ResponseWriter, r *http.Request, ss *session) error {
		return errNotFound
	}))
}

// ServeHTTP sets the headers every answer carries, then routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No script runs here at all; styles and images come from us only.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// Prospect addresses are in our URLs: never send them elsewhere.
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	// Links carry the file's hash (see assetVersion), so a change is a new URL.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	s.static.ServeHTTP(w, r)
}

// pageHandler is a page for someone signed in; it returns the error to
// show instead.
type pageHandler func(w http.ResponseWriter, r *http.Request, ss *session) error

// page requires a session; without one the browser goes to sign-in and
// comes back after.
func (s *server) page(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.auth.fromRequest(r)
		if !ok {
			s.toSignin(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store") // personal data, often on a shared phone
		if err := h(w, r, ss); err != nil {
			s.fail(w, r, ss, err)
		}
	})
}

// post is a form submission: it requires a session and the form's CSRF
// token, and caps the body.
func (s *server) post(h pageHandler) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request, ss *session) error {
		if r.ContentLength > s.o.MaxBodyBytes {
			return errTooLarge
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
		if err := parseForm(r); err != nil {
			return err
		}
		if !s.auth.checkCSRF(ss, r.PostFormValue(csrfField)) {
			return errForbidden
		}
		return h(w, r, ss)
	})
}

// parseForm reads a urlencoded or multipart body. Uploads above 8 MiB
// wait in temporary files, which net/http removes after the request.
func parseForm(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/form-data") {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return formError(err)
		}
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	return nil
}

func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errTooLarge
	}
	return &sequencer.UserError{Kind: sequencer.ErrInvalid, Msg: "the form could not be read; reload the page and try again"}
}

func (s *server) toSignin(w http.ResponseWriter, r *http.Request) {
	target := Prefix + "/signin"
	// Come back to the page asked for; a form post is not repeated.
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := r.URL.RequestURI(); safeNext(next) && r.URL.Path != Prefix+"/" {
			target += "?next=" + urlQueryEscape(next)
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// Errors the pages answer with.
var (
	errNotFound  = &httpError{status: http.StatusNotFound, title: "Not found", msg: "There is no such page."}
	errForbidden = &httpError{status: http.StatusForbidden, title: "Form expired",
		msg: "This form is no longer valid (it was opened before you signed in again, or on another page). Go back, reload the page and send it again."}
	errTooLarge = &httpError{status: http.StatusRequestEntityTooLarge, title: "Too large",
		msg: "The upload is too large."}
)

type httpError struct {
	status     int
	title, msg string
}

func (e *httpError) Error() string { return e.msg }

// fail shows err: a refusal with its message, anything else as a generic
// 500 (its text may hold SQL or a DSN), logged.
func (s *server) fail(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	var he *httpError
	var ue *sequencer.UserError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ue):
		he = &httpError{status: userStatus(ue), title: "Not possible", msg: ue.Msg}
		if errors.Is(ue.Kind, store.ErrNotFound) {
			he.title = "Not found"
		}
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the browser went away
	default:
		s.log.Error("web: request failed", "route", r.Pattern, "err", err)
		he = &httpError{status: http.StatusInternalServerError, title: "Something went wrong",
			msg: "The page could not be shown; the server log has the details."}
	}
	if he == errTooLarge {
		he = &httpError{status: he.status, title: he.title,
			msg: fmt.Sprintf("The upload is larger than %d MiB.", s.o.MaxBodyBytes>>20)}
	}
	s.render(w, r, ss, he.status, "error", he.title, "", errorData{Message: he.msg})
}

func userStatus(ue *sequencer.UserError) int {
	switch {
	case errors.Is(ue.Kind, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(ue.Kind, store.ErrSuppressed), errors.Is(ue.Kind, store.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

type errorData struct{ Message string }
