package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"signin", "enroll", "import", "prospects", "prospect", "funnel", "error"}

var funcs = template.FuncMap{
	"when":        formatTime,
	"whenPtr":     formatTimePtr,
	"iso":         func(t time.Time) string { return t.Format(time.RFC3339) },
	"pct":         formatPct,
	"prospectURL": prospectURL,
}

func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// styleURL carries the stylesheet's hash, so that browsers may cache it
// and still see a new one at once.
func styleURL() (string, error) {
	b, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		return "", fmt.Errorf("web: reading the stylesheet: %w", err)
	}
	sum := sha256.Sum256(b)
	return Prefix + "/static/style.css?v=" + hex.EncodeToString(sum[:4]), nil
}

// layoutData is what layout.html sees; Data is the page's own.
type layoutData struct {
	Title    string
	Nav      string // the current section, to mark it in the menu
	CSS      string
	SignedIn bool
	Ops      bool // may load lists (not a rep)
	CSRF     string
	Prefix   string
	Data     any
}

// render writes a whole page, or a plain 500 when the template fails (it
// is rendered to a buffer first, so never half a page).
func (s *server) render(w http.ResponseWriter, r *http.Request, ss *session, status int, page, title, nav string, data any) {
	d := layoutData{Title: title, Nav: nav, CSS: s.css, Prefix: Prefix, Data: data}
	if ss != nil {
		d.SignedIn, d.CSRF, d.Ops = true, ss.csrf, ss.ops()
	}
	var buf bytes.Buffer
	if err := s.pages[page].Execute(&buf, d); err != nil {
		s.log.Error("web: rendering page", "page", page, "err", err)
		http.Error(w, "internal error; the server log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// formatTime is how every time reads: weekday, date, clock and zone, in
// the zone t carries (the prospect's).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("Mon 2 Jan 2006, 15:04 MST")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

func formatPct(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

func prospectURL(email string) string {
	return Prefix + "/prospects/" + url.PathEscape(email)
}
