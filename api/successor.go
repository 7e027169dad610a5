package api

import (
	"net/http"
	"net/url"
)

// enrollSuccessor enrols the successor named when the prospect's
// enrollment in ?sequence=S ended `left`: the same sequence, sender and
// "met at" (sequencer.Control.EnrollSuccessor). It answers like POST
// /api/v1/enrollments, with the successor's view: 201 when enrolled, 200
// when the successor already was.
func (s *server) enrollSuccessor(w http.ResponseWriter, r *http.Request) error {
	sequence := r.URL.Query().Get("sequence")
	if sequence == "" {
		return badRequest("sequence is required: ?sequence=S")
	}
	res, err := s.o.Control.EnrollSuccessor(r.Context(), r.PathValue("email"), sequence)
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
