package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/drip-email/drip/store"
)

// The unsubscribe link of every email, /u/{token}. The token is an HMAC of
// the prospect's id (mailer.Unsubscriber), so nobody can unsubscribe an
// address they did not receive a link for.
//
// GET only shows a page with a button: mail scanners and link previewers
// fetch every link of a message, and must not unsubscribe anybody. POST
// unsubscribes: the button's form, or the mail client's RFC 8058 one-click
// request (body "List-Unsubscribe=One-Click"). Both are idempotent.

// unsubscribeReason is recorded with the suppression and in the timeline.
const unsubscribeReason = "unsubscribe link"

// maxUnsubscribeBody caps what a POST to the link may send; the one-click
// body is 26 bytes and nothing in it is read.
const maxUnsubscribeBody = 4 << 10

var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Confirm}}<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{.Button}}</button>
</form>{{end}}
</body></html>
`))

type page struct {
	Lang, Title, Text, Button string
	Confirm                   bool
}

func writePage(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// The token is in the URL: keep it out of Referer headers and caches.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.Execute(w, p)
}

func invalidLink(t pageText) page {
	return page{Lang: t.Lang, Title: t.InvalidTitle, Text: t.Invalid}
}

// linkProspect resolves the token: ok is false for a token that is not
// ours; found is false for a prospect that no longer exists (forgotten,
// which leaves the address suppressed).
func (s *server) linkProspect(r *http.Request) (p store.Prospect, ok, found bool, err error) {
	id, ok := s.o.Unsubscriber.Verify(r.PathValue("token"))
	if !ok {
		return p, false, false, nil
	}
	p, err = s.o.Store.ProspectGet(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return p, true, false, nil
	}
	return p, true, err == nil, err
}

func (s *server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	p, ok, found, err := s.linkProspect(r)
	t := pageLanguage(r, p.Language)
	switch {
	case err != nil:
		s.linkFailed(w, t, err)
		return
	case !ok:
		writePage(w, http.StatusNotFound, invalidLink(t))
		return
	case !found:
		writePage(w, http.StatusOK, page{Lang: t.Lang, Title: t.DoneTitle, Text: t.Gone})
		return
	}
	suppressed, err := s.o.Store.Suppressed(r.Context(), p.Email)
	if err != nil {
		s.linkFailed(w, t, err)
		return
	}
	if suppressed {
		writePage(w, http.StatusOK, page{Lang: t.Lang, Title: t.DoneTitle, Text: fmt.Sprintf(t.Already, maskEmail(p.Email))})
		return
	}
	writePage(w, http.StatusOK, page{Lang: t.Lang, Title: t.ConfirmTitle,
		Text: fmt.Sprintf(t.Confirm, maskEmail(p.Email)), Button: t.Button, Confirm: true})
}

func (s *server) unsubscribeLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)
	p, ok, found, err := s.linkProspect(r)
	t := pageLanguage(r, p.Language)
	switch {
	case err != nil:
		s.linkFailed(w, t, err)
		return
	case !ok:
		writePage(w, http.StatusNotFound, invalidLink(t))
		return
	case found:
		if _, err := s.o.Control.Unsubscribe(r.Context(), p.Email, unsubscribeReason); err != nil {
			s.linkFailed(w, t, err)
			return
		}
	}
	writePage(w, http.StatusOK, page{Lang: t.Lang, Title: t.DoneTitle, Text: t.Done})
}

func (s *server) linkFailed(w http.ResponseWriter, t pageText, err error) {
	s.log.Error("unsubscribe link failed", "err", err)
	writePage(w, http.StatusInternalServerError, page{Lang: t.Lang, Title: t.FailedTitle, Text: t.Failed})
}

// maskEmail shows enough of an address for its owner to recognise it, and
// not all of it to whoever else holds the link (a forwarded email).
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "your address"
	}
	r := []rune(local)
	return string(r[0]) + "…@" + domain
}
