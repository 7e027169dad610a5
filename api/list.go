package api

import (
	"net/http"
	"strconv"

	"github.com/drip-email/drip/sequencer"
)

// The prospect list, a page at a time (the web UI's list, for machines).

const (
	defaultListLimit = 50
	maxListLimit     = 500
	// maxListOffset bounds how deep a page may be: OFFSET beyond it is a
	// long scan for nobody; the CSV export has the whole list.
	maxListOffset = 1_000_000
	// listCountPast: the total is counted this far past the page, and
	// then reported as a lower bound (total_capped), so that a page of a
	// list of millions costs what a page costs.
	listCountPast = 10_000
)

type listResponse struct {
	Prospects []sequencer.ProspectListItem `json:"prospects"`
	Page      int                          `json:"page"`
	Limit     int                          `json:"limit"`
	// Total matches, or a lower bound when TotalCapped.
	Total       int  `json:"total"`
	TotalCapped bool `json:"total_capped"`
	NextPage    *int `json:"next_page"` // null on the last page
}

// listProspects: GET /api/v1/prospects?q=&state=&sequence=&sender=&page=&limit=.
// q searches the address, names and company, folded as the web UI's
// search; page is 1-based; limit is 1..500 (default 50).
func (s *server) listProspects(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := s.prospectFilter(q)
	if err != nil {
		return err
	}
	if snd := q.Get("sender"); snd != "" {
		if _, ok := s.o.Config.Sender(snd); !ok {
			return badRequest("sender=%q is not configured", snd)
		}
		f.Senders = []string{snd}
	}
	page, limit := 1, defaultListLimit
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return badRequest("page=%q: want a whole number from 1", v)
		}
		page = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return badRequest("limit=%q: want a whole number from 1 to %d", v, maxListLimit)
		}
		limit = n
	}
	if (page - 1) > maxListOffset/limit {
		return badRequest("page=%d is beyond %d prospects: narrow the search, or use /api/v1/exports/prospects", page, maxListOffset)
	}
	f.Limit, f.Offset = limit, (page-1)*limit
	counted := f.Offset + limit + listCountPast
	f.CountUpTo = counted + 1
	items, total, err := s.o.Control.ProspectList(r.Context(), f)
	if err != nil {
		return err
	}
	resp := listResponse{Prospects: items, Page: page, Limit: limit, Total: min(total, counted), TotalCapped: total > counted}
	if f.Offset+len(items) < total {
		next := page + 1
		resp.NextPage = &next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
