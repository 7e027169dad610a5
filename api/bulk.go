package api

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// bulkRequest is the JSON body of POST /api/v1/bulk/{action}.
type bulkRequest struct {
	Emails []string `json:"emails"`
}

// bulkResponse counts what a bulk action did.
type bulkResponse struct {
	Action    string   `json:"action"`
	Changed   int      `json:"changed"`
	Unchanged int      `json:"unchanged"`
	Unknown   []string `json:"unknown"`
	Invalid   []string `json:"invalid"`
}

// bulk runs pause, resume, unsubscribe or unenroll (?sequence=S) over the
// addresses of the body: JSON {"emails": [...]}, or text (one address a
// line, or a CSV such as an export of the list).
func (s *server) bulk(w http.ResponseWriter, r *http.Request) error {
	action := r.PathValue("action")
	if !slices.Contains(sequencer.BulkActions, action) {
		return badRequest("unknown bulk action %q (want one of %s)", action, strings.Join(sequencer.BulkActions, ", "))
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var emails []string
	switch {
	case mt == "application/json":
		var req bulkRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		emails = req.Emails
	case csvTypes[mt]:
		var err error
		if emails, err = sequencer.ReadAddresses(r.Body); err != nil {
			return err
		}
	default:
		writeError(w, http.StatusUnsupportedMediaType, "send the addresses as JSON {\"emails\": [...]} or as text/csv")
		return nil
	}
	res, err := s.o.Control.Bulk(r.Context(), action, emails, r.URL.Query().Get("sequence"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, bulkResponse{Action: action, Changed: res.Changed, Unchanged: res.Unchanged,
		Unknown: nonNil(res.Unknown), Invalid: nonNil(res.Invalid)})
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// exportProspects answers the prospect list, filtered as the web UI's
// (?q=&state=&sequence=), as a CSV file.
func (s *server) exportProspects(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := s.prospectFilter(q)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="prospects.csv"`)
	if _, err := s.o.Control.ExportProspects(r.Context(), w, f); err != nil {
		return fmt.Errorf("exporting prospects: %w", err)
	}
	return nil
}

// prospectFilter reads the list's filter (?q=&state=&sequence=) as the web
// UI's, refusing an unknown state or sequence.
func (s *server) prospectFilter(q url.Values) (store.ProspectFilter, error) {
	f := store.ProspectFilter{Search: strings.TrimSpace(q.Get("q")), Sequence: q.Get("sequence")}
	if st := q.Get("state"); st != "" {
		if !slices.Contains(store.States, store.State(st)) {
			return f, badRequest("state=%q: want one of %v", st, store.States)
		}
		f.State = store.State(st)
	}
	if f.Sequence != "" && !slices.Contains(s.o.Config.SequenceNames(), f.Sequence) {
		return f, badRequest("sequence=%q is not configured", f.Sequence)
	}
	return f, nil
}
