package api

import (
	"errors"
	"net/http"

	"github.com/drip-email/drip/store"
)

// unsuppressRequest is the body of POST /api/v1/prospects/{email}/unsuppress.
type unsuppressRequest struct {
	Reason string `json:"reason"`
}

// unsuppress lifts a suppression (the API token is the ops role: it may do
// everything). The answer is the prospect's view, whose enrollments the
// suppression ended are paused again; for an address that is not a
// prospect, 204.
func (s *server) unsuppress(w http.ResponseWriter, r *http.Request) error {
	var req unsuppressRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	email := r.PathValue("email")
	if _, err := s.o.Control.Unsuppress(r.Context(), email, req.Reason); err != nil {
		return err
	}
	if _, err := s.o.Control.Prospect(r.Context(), email); errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	} else if err != nil {
		return err
	}
	return s.writeView(w, r, email)
}
