package api

import (
	"net/http"
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
	return s.enrolled(w, r, res)
}
