package web

import (
	"net/http"
	"slices"

	"github.com/drip-email/drip/sequencer"
)

// A prospect whose enrollment ended `left` (an auto-reply said they left
// the company) shows who took over, when named; the page offers enrolling
// that successor in the same sequence, from the same sender, with the same
// "met at", in one click (sequencer.Control.EnrollSuccessor). A rep may do
// it for enrollments of its own senders only.

var errNotYourSender = &httpError{status: http.StatusForbidden, title: "Not for your account",
	msg: "That sequence runs from another rep's sender: ask them, or an ops account."}

// successorOffers are the sequences of v whose successor the session may
// enrol from the page: ended left, with an address named.
func successorOffers(ss *session, v sequencer.ProspectView) map[string]bool {
	offers := map[string]bool{}
	for _, e := range v.Enrollments {
		if e.Successor != nil && e.Successor.Email != "" && (ss.ops() || slices.Contains(ss.senders(), e.Sender)) {
			offers[e.Sequence] = true
		}
	}
	return offers
}

// enrollSuccessor is the page's enroll-successor action: it goes on to the
// successor's page, which says what happened.
func (s *server) enrollSuccessor(w http.ResponseWriter, r *http.Request, ss *session) error {
	ctx := r.Context()
	email, sequence := r.PathValue("email"), r.PostFormValue("sequence")
	v, err := s.o.Control.ProspectView(ctx, email)
	if err != nil {
		return err
	}
	if !mayActOn(ss, v) {
		return errNotFound
	}
	if !ss.ops() && !successorOffers(ss, v)[sequence] {
		return errNotYourSender
	}
	res, err := s.o.Control.EnrollSuccessor(ctx, email, sequence)
	if err != nil {
		return err
	}
	done := "successor-enrolled"
	if !res.Created {
		done = "successor-known"
	}
	http.Redirect(w, r, prospectURL(res.Prospect.Email)+"?done="+done, http.StatusSeeOther)
	return nil
}
