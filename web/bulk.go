package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/drip-email/drip/sequencer"
)

// Bulk actions from the prospect list: the rows ticked on a page, one
// action (sequencer.Control.Bulk). A rep acts on the prospects of its
// senders only: any other address counts as not found, as on a
// prospect's own page.

// maxBulkForm bounds the addresses of one bulk form: a page holds far
// fewer; a longer list is for drip bulk or the API.
const maxBulkForm = 1000

// bulkLabels name the actions on the list page, in the order shown.
var bulkLabels = []option{
	{Value: "pause", Label: "Pause"},
	{Value: "resume", Label: "Resume"},
	{Value: "unenroll", Label: "Take out of the sequence"},
	{Value: "unsubscribe", Label: "Unsubscribe (never email again)"},
}

func (s *server) prospectsBulk(w http.ResponseWriter, r *http.Request, ss *session) error {
	action := r.PostFormValue("action")
	if !slices.Contains(sequencer.BulkActions, action) {
		return &httpError{status: http.StatusBadRequest, title: "Unknown action", msg: fmt.Sprintf("There is no bulk action %q.", action)}
	}
	emails := r.PostForm["email"]
	if len(emails) > maxBulkForm {
		return &httpError{status: http.StatusRequestEntityTooLarge, title: "Too many at once",
			msg: fmt.Sprintf("At most %d prospects at once here; drip bulk takes a whole file.", maxBulkForm)}
	}
	back := listBackURL(r.PostFormValue("back"))
	if len(emails) == 0 {
		http.Redirect(w, r, withQuery(back, url.Values{"bulk": {"none"}}), http.StatusSeeOther)
		return nil
	}
	sequence := r.PostFormValue("sequence")
	if action == "unenroll" && sequence == "" {
		return &httpError{status: http.StatusUnprocessableEntity, title: "Which sequence?",
			msg: "Choose the sequence to take the prospects out of."}
	}
	ctx := r.Context()
	var hidden int // a rep's: not its prospects, counted as not found
	if !ss.ops() {
		mine := emails[:0:0]
		for _, e := range emails {
			v, err := s.o.Control.ProspectView(ctx, e)
			var ue *sequencer.UserError
			switch {
			case errors.As(err, &ue):
				hidden++
			case err != nil:
				return err
			case mayActOn(ss, v):
				mine = append(mine, e)
			default:
				hidden++
			}
		}
		emails = mine
	}
	res, err := s.o.Control.Bulk(ctx, action, emails, sequence)
	if err != nil {
		return err
	}
	q := url.Values{
		"bulk":      {action},
		"changed":   {strconv.Itoa(res.Changed)},
		"unchanged": {strconv.Itoa(res.Unchanged)},
		"unknown":   {strconv.Itoa(len(res.Unknown) + len(res.Invalid) + hidden)},
	}
	http.Redirect(w, r, withQuery(back, q), http.StatusSeeOther)
	return nil
}

// listBackURL is the list page the form came from (its filters and page),
// or the list itself: never another page or site.
func listBackURL(back string) string {
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path != Prefix+"/prospects" {
		return Prefix + "/prospects"
	}
	q := u.Query()
	for _, k := range []string{"bulk", "changed", "unchanged", "unknown", "select"} {
		q.Del(k)
	}
	return withQuery(Prefix+"/prospects", q)
}

func withQuery(path string, q url.Values) string {
	if base, rest, ok := strings.Cut(path, "?"); ok {
		old, _ := url.ParseQuery(rest)
		for k, v := range q {
			old[k] = v
		}
		path, q = base, old
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// bulkMessage says what a bulk action did, from the list page's query.
func bulkMessage(q url.Values) string {
	action := q.Get("bulk")
	if action == "none" {
		return "Tick the prospects first."
	}
	past := map[string]string{"pause": "Paused", "resume": "Resumed", "unsubscribe": "Unsubscribed", "unenroll": "Took out"}[action]
	if past == "" {
		return ""
	}
	n := func(k string) int { v, _ := strconv.Atoi(q.Get(k)); return max(v, 0) }
	msg := fmt.Sprintf("%s %d %s", past, n("changed"), plural(n("changed"), "prospect", "prospects"))
	if u := n("unchanged"); u > 0 {
		msg += fmt.Sprintf("; %d had nothing to change", u)
	}
	if u := n("unknown"); u > 0 {
		msg += fmt.Sprintf("; %d not found", u)
	}
	return msg + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
