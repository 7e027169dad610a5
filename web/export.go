package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/drip-email/drip/store"
)

// exportProspects sends the list as filtered on the prospects page (all of
// it, not one page) as a CSV file (sequencer.Control.ExportProspects).
func (s *server) exportProspects(w http.ResponseWriter, r *http.Request, _ *session) error {
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
