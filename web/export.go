package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

// errExportOpsOnly: the export holds every prospect's data, whatever its
// sender; a rep's list is on its page.
var errExportOpsOnly = &httpError{status: http.StatusForbidden, title: "Not for your account",
	msg: "Exports (the list, the funnel, a prospect's data) are for ops accounts; ask one of them."}

// exportProspects sends the list as filtered on the prospects page (all of
// it, not one page) as a CSV file (sequencer.Control.ExportProspects). It
// is for ops only.
func (s *server) exportProspects(w http.ResponseWriter, r *http.Request, ss *session) error {
	if !ss.ops() {
		return errExportOpsOnly
	}
	q := r.URL.Query()
	f := store.ProspectFilter{Search: strings.TrimSpace(q.Get("q"))}
	if st := store.State(q.Get("state")); slices.Contains(store.States, st) {
		f.State = st
	}
	if seq := q.Get("sequence"); slices.Contains(s.o.Config.SequenceNames(), seq) {
		f.Sequence = seq
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="prospects.csv"`)
	if _, err := s.o.Control.ExportProspects(r.Context(), w, f); err != nil {
		return fmt.Errorf("exporting prospects: %w", err)
	}
	return nil
}

// funnelCSV is the funnel page as a CSV file, every sequence
// (sequencer.WriteFunnelCSV). It is for ops, like the list's export.
func (s *server) funnelCSV(w http.ResponseWriter, r *http.Request, ss *session) error {
	if !ss.ops() {
		return errExportOpsOnly
	}
	all, err := s.o.Control.StatsAll(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="funnel.csv"`)
	return sequencer.WriteFunnelCSV(w, all...)
}

// exportProspectJSON is everything drip holds about one prospect, as a
// JSON download (sequencer.Control.ExportProspect): for ops only, since it
// holds the texts of every message.
func (s *server) exportProspectJSON(w http.ResponseWriter, r *http.Request, ss *session) error {
	if !ss.ops() {
		return errExportOpsOnly
	}
	x, err := s.o.Control.ExportProspect(r.Context(), r.PathValue("email"))
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the export: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="prospect-export.json"`)
	_, err = w.Write(append(b, '\n'))
	return err
}
