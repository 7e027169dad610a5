package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/drip-email/drip/sequencer"
)

// Roles in the web UI. The API token, and a user of role ops, may do
// everything. A rep (drip user add NAME --role rep --sender S) sees and
// acts on the prospects of its senders only: the prospect list shows only
// those with an enrollment by one of them, another prospect's page is "not
// found" (nothing tells whether it exists), it enrols with its senders
// only, and loading a list is for ops. The funnel shows counts only, and
// is for everyone.

var errOpsOnly = &httpError{status: http.StatusForbidden, title: "Not for your account",
	msg: "Loading lists is for ops accounts; ask one of them, or enrol leads one by one."}

// sendersOf are the senders a session may enrol with.
func (s *server) sendersOf(ss *session) []string {
	if ss.ops() {
		return s.senderNames()
	}
	var out []string
	for _, n := range s.senderNames() {
		if slices.Contains(ss.senders(), n) {
			out = append(out, n)
		}
	}
	return out
}

// senderOptionsOf is senderOptions limited to the session's senders.
func (s *server) senderOptionsOf(ss *session, selected string) []option {
	var out []option
	mine := s.sendersOf(ss)
	for _, o := range s.senderOptions(selected) {
		if slices.Contains(mine, o.Value) {
			out = append(out, o)
		}
	}
	return out
}

// repSender checks (and defaults) the sender a rep enrols with; it says
// why not, or "".
func repSender(ss *session, sender *string) string {
	if ss.ops() {
		return ""
	}
	mine := ss.senders()
	if *sender == "" && len(mine) > 0 {
		*sender = mine[0]
	}
	if !slices.Contains(mine, *sender) {
		return fmt.Sprintf("You may enrol leads for your own senders only (%s).", strings.Join(mine, ", "))
	}
	return ""
}

// mayActOn reports whether the session may see and act on the prospect:
// ops always, a rep when one of its senders has an enrollment of the
// prospect.
func mayActOn(ss *session, v sequencer.ProspectView) bool {
	if ss.ops() {
		return true
	}
	for _, e := range v.Enrollments {
		if slices.Contains(ss.senders(), e.Sender) {
			return true
		}
	}
	return false
}
