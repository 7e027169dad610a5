package api_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

// TestImportOverTheCapStoresNothing: a chunked list larger than the body
// cap is refused whole; not one of its rows is stored or enrolled.
func TestImportOverTheCapStoresNothing(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), func(o *api.Options) { o.MaxBodyBytes = 4096; o.Config.Engine.ImportBatch = 10 })
	var rows strings.Builder
	rows.WriteString("email\n")
	for i := range 1000 {
		fmt.Fprintf(&rows, "p%04d@example.com\n", i)
	}
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, rows.String()); pw.Close() }()
	wantError(t, "chunked import over the limit", r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", pr, "Bearer "+token), 413, "larger than 4096 bytes")
	_, total, err := r.st.ProspectList(context.Background(), store.ProspectFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 0 {
		t.Fatalf("%d prospects stored from a refused list, want 0", total)
	}
}

// TestFarFutureDateRefused: year 9999 (and anything outside 1900..2200) is
// a 400 naming the field, not a 201 with an empty body.
func TestFarFutureDateRefused(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	for _, d := range []string{"9999-12-31", "1899-12-31", "2201-01-01T00:00:00Z"} {
		resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "far@example.com", "first_contact": "`+d+`"}}`)
		wantError(t, "first_contact "+d, resp, 400, "outside 1900..2200")
	}
	resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "near@example.com", "first_contact": "2200-12-31"}}`)
	if resp.status != 201 || !strings.Contains(resp.body, `"next_send_at"`) {
		t.Fatalf("first_contact 2200-12-31: status %d, body %q", resp.status, resp.body)
	}
}

// TestControlCharactersRefused: ESC (and the rest of C0, DEL, C1) in any
// field is a 400 naming the field, as CR/LF are.
func TestControlCharactersRefused(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	for _, body := range []string{
		`{"sequence": "trade-fair", "prospect": {"email": "esc@example.com", "first_name": "\u001b[31mAnna"}}`,
		`{"sequence": "trade-fair", "prospect": {"email": "esc@example.com", "company": "Evil\u009bCorp"}}`,
		`{"sequence": "trade-fair", "prospect": {"email": "esc@example.com", "fields": {"booth": "B\u0007"}}}`,
	} {
		wantError(t, body, r.api("POST", "/api/v1/enrollments", body), 400, "control character")
	}
}

// TestUnsuppress: a wrong unsubscribe is lifted with a reason; the
// enrollment comes back paused, the timeline says why, and resume sends
// again.
func TestUnsuppress(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	const email = "wrongly@example.com"
	if resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "`+email+`"}}`); resp.status != 201 {
		t.Fatalf("enrol: %d %s", resp.status, resp.body)
	}
	wantError(t, "not suppressed", r.api("POST", "/api/v1/prospects/"+email+"/unsuppress", `{"reason": "x"}`), 404, "not suppressed")
	if resp := r.api("POST", "/api/v1/prospects/"+email+"/unsubscribe", ""); resp.status != 200 {
		t.Fatalf("unsubscribe: %d %s", resp.status, resp.body)
	}
	wantError(t, "no reason", r.api("POST", "/api/v1/prospects/"+email+"/unsuppress", `{}`), 400, "reason is required")
	resp := r.api("POST", "/api/v1/prospects/"+email+"/unsuppress", `{"reason": "clicked by a link scanner"}`)
	if resp.status != 200 {
		t.Fatalf("unsuppress: %d %s", resp.status, resp.body)
	}
	v := resp.json(t)
	if v["prospect"].(map[string]any)["suppressed"] != false || enrollment(t, v)["state"] != "paused" ||
		!strings.Contains(timeline(v), "unsuppressed") || !strings.Contains(resp.body, "clicked by a link scanner") {
		t.Fatalf("after unsuppress: %s", resp.body)
	}
	resp = r.api("POST", "/api/v1/prospects/"+email+"/resume", "")
	if resp.status != 200 || enrollment(t, resp.json(t))["state"] != "active" || enrollment(t, resp.json(t))["next_send_at"] == nil {
		t.Fatalf("resume after unsuppress: %d %s", resp.status, resp.body)
	}
}
