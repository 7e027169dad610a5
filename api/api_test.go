package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drip-email/drip/api"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

const token = "s3cret-t0ken"

// t0 is a Tuesday, 10:00 in Rome.
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// rig is the API on a real store, served on loopback.
type rig struct {
	t     *testing.T
	st    store.Store
	clock *testrig.Clock
	unsub *mailer.Unsubscriber
	srv   *httptest.Server
}

func newRig(t *testing.T, dbURL string, mod func(*api.Options)) *rig {
	t.Helper()
	st := testrig.Open(t, dbURL)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &configs.Config{
		HTTP:    configs.HTTP{APIToken: token, PublicURL: "https://drip.example.com"},
		Senders: []configs.Sender{{Name: "maria", From: "Maria <maria@example.com>"}},
		Sequences: map[string]*configs.Sequence{
			"trade-fair": {Name: "trade-fair", Steps: 60, Interval: configs.Span{Days: 10}, FirstStepAfter: configs.Span{Days: 10},
				Timezone: "Europe/Rome", Location: rome,
				Window: &configs.Window{Days: []configs.Weekday{2, 3, 4}, From: 9*60 + 30, To: 10*60 + 30}},
		},
		Engine: configs.Engine{ImportBatch: 1000},
	}
	unsub, err := mailer.NewUnsubscriber("link-secret")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, clock: testrig.NewClock(t0), unsub: unsub}
	o := api.Options{
		Control:      &sequencer.Control{Store: st, Clock: r.clock, Config: cfg},
		Config:       cfg,
		Unsubscriber: unsub,
	}
	if mod != nil {
		mod(&o)
	}
	r.srv = httptest.NewServer(api.New(o))
	t.Cleanup(r.srv.Close)
	return r
}

type response struct {
	status int
	header http.Header
	body   string
}

// json decodes the body into a generic value, to check its shape.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

func (r *rig) do(method, path, contentType string, body io.Reader, auth string) response {
	r.t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// api calls an /api route with the right token.
func (r *rig) api(method, path, body string) response {
	r.t.Helper()
	var rd io.Reader
	ct := ""
	if body != "" {
		rd, ct = strings.NewReader(body), "application/json"
	}
	return r.do(method, path, ct, rd, "Bearer "+token)
}

func wantError(t *testing.T, what string, resp response, status int, msg string) {
	t.Helper()
	if resp.status != status {
		t.Errorf("%s: status %d, want %d (%s)", what, resp.status, status, resp.body)
		return
	}
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(resp.body), &e); err != nil || len(e) != 1 {
		t.Errorf("%s: body %q is not {\"error\": ...}", what, resp.body)
		return
	}
	if s, _ := e["error"].(string); !strings.Contains(s, msg) {
		t.Errorf("%s: error %q, want it to say %q", what, s, msg)
	}
}

func TestAuth(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	for _, tc := range []struct{ name, auth string }{
		{"no token", ""},
		{"wrong token", "Bearer " + token + "x"},
		{"prefix of the token", "Bearer " + token[:5]},
		{"basic auth", "Basic " + token},
		{"empty bearer", "Bearer "},
	} {
		for _, route := range []struct{ method, path string }{
			{"GET", "/api/v1/prospects/a@example.com"},
			{"POST", "/api/v1/enrollments"},
			{"DELETE", "/api/v1/prospects/a@example.com"},
			{"GET", "/api/v1/sequences/trade-fair/stats"},
		} {
			resp := r.do(route.method, route.path, "application/json", strings.NewReader(`{}`), tc.auth)
			wantError(t, tc.name+" "+route.path, resp, http.StatusUnauthorized, "API token")
			if !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.header.Get("WWW-Authenticate"))
			}
		}
	}
	if resp := r.api("GET", "/api/v1/sequences/trade-fair/stats", ""); resp.status != http.StatusOK {
		t.Errorf("right token: %d %s", resp.status, resp.body)
	}
	// lower-case scheme is allowed (RFC 7235: case-insensitive).
	if resp := r.do("GET", "/api/v1/sequences/trade-fair/stats", "", nil, "bearer "+token); resp.status != http.StatusOK {
		t.Errorf("lower-case bearer: %d", resp.status)
	}
}

func TestNoTokenConfiguredRefusesEverything(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), func(o *api.Options) {
		cfg := *o.Config
		cfg.HTTP.APIToken = ""
		o.Config = &cfg
	})
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		wantError(t, fmt.Sprintf("auth %q", auth), r.do("GET", "/api/v1/sequences/trade-fair/stats", "", nil, auth), http.StatusUnauthorized, "API token")
	}
}

func TestBadInput(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	p := func(fields string) string {
		return `{"sequence": "trade-fair", "prospect": {"email": "a@example.com"` + fields + `}}`
	}
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"bad JSON", `{"sequence": "trade-fair",`, 400, "bad JSON"},
		{"not an object", `[1, 2]`, 400, "bad JSON"},
		{"two objects", p("") + p(""), 400, "more than one value"},
		{"empty body", ``, 400, "empty body"},
		{"unknown field", `{"sequence": "trade-fair", "prospect": {"email": "a@example.com", "frist_name": "A"}}`, 400, `unknown field "frist_name"`},
		{"unknown top field", `{"sequence": "trade-fair", "sequense": "x", "prospect": {"email": "a@example.com"}}`, 400, `unknown field "sequense"`},
		{"wrong type", `{"sequence": "trade-fair", "prospect": {"email": 42}}`, 400, "prospect.email must be a string"},
		{"invalid address", `{"sequence": "trade-fair", "prospect": {"email": "not-an-address"}}`, 400, `invalid address "not-an-address"`},
		{"missing address", `{"sequence": "trade-fair", "prospect": {}}`, 400, "missing email"},
		{"bad date", p(`, "first_contact": "2026-11-31"`), 400, `first_contact "2026-11-31" is not a valid date`},
		{"unknown zone", p(`, "timezone": "Europe/Nowhere"`), 400, `unknown time zone "Europe/Nowhere"`},
		{"header injection", p(`, "first_name": "A\r\nBcc: victim@example.org"`), 400, "line break inside field first_name"},
		{"unknown sequence", `{"sequence": "nope", "prospect": {"email": "a@example.com"}}`, 400, `no sequence "nope"`},
		{"unknown sender", `{"sequence": "trade-fair", "sender": "bob", "prospect": {"email": "a@example.com"}}`, 400, `no sender "bob"`},
	} {
		wantError(t, tc.name, r.api("POST", "/api/v1/enrollments", tc.body), tc.status, tc.msg)
	}
	resp := r.do("POST", "/api/v1/enrollments", "text/plain", strings.NewReader(p("")), "Bearer "+token)
	wantError(t, "text/plain body", resp, 400, "application/json")
	if resp := r.api("GET", "/api/v1/prospects/a@example.com", ""); resp.status != http.StatusNotFound {
		t.Errorf("a refused enrollment stored the prospect: %d", resp.status)
	}

	wantError(t, "unknown prospect", r.api("GET", "/api/v1/prospects/nobody@example.com", ""), 404, "no prospect nobody@example.com")
	wantError(t, "pause unknown", r.api("POST", "/api/v1/prospects/nobody@example.com/pause", ""), 404, "no prospect")
	wantError(t, "unsubscribe unknown", r.api("POST", "/api/v1/prospects/nobody@example.com/unsubscribe", ""), 404, "no prospect")
	wantError(t, "forget unknown", r.api("DELETE", "/api/v1/prospects/nobody@example.com", ""), 404, "no prospect")
	wantError(t, "unknown sequence stats", r.api("GET", "/api/v1/sequences/nope/stats", ""), 404, `no sequence "nope"`)
	wantError(t, "no such route", r.api("GET", "/api/v1/nothing", ""), 404, "no such route")
	resp = r.api("GET", "/api/v1/enrollments", "")
	wantError(t, "wrong method", resp, 405, "not allowed")
	if resp.header.Get("Allow") == "" {
		t.Error("405 without an Allow header")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), nil)
			body := `{"sequence": "trade-fair", "sender": "maria", "prospect": {"email": "Mario.Rossi@example.com",
				"first_name": "Mario", "last_name": "Rossi", "company": "Rossi Srl", "met_at": "EIMA 2026",
				"first_contact": "2026-11-20", "timezone": "Europe/Rome", "fields": {"booth": "B12"}}}`
			resp := r.api("POST", "/api/v1/enrollments", body)
			if resp.status != http.StatusCreated {
				t.Fatalf("enroll: %d %s", resp.status, resp.body)
			}
			if loc := resp.header.Get("Location"); loc != "/api/v1/prospects/Mario.Rossi@example.com" {
				t.Errorf("Location %q", loc)
			}
			v := resp.json(t)
			checkShape(t, v)
			p := v["prospect"].(map[string]any)
			if p["email"] != "Mario.Rossi@example.com" || p["first_name"] != "Mario" || p["company"] != "Rossi Srl" ||
				p["met_at"] != "EIMA 2026" || p["timezone"] != "Europe/Rome" || p["suppressed"] != false ||
				p["fields"].(map[string]any)["booth"] != "B12" {
				t.Errorf("prospect %v", p)
			}
			e := enrollment(t, v)
			// First contact the 20th at 00:00; step 1 is due the 30th (a
			// Monday), sent in the window: Tuesday 1 December, 09:30.
			if e["state"] != "active" || e["sequence"] != "trade-fair" || e["sender"] != "maria" || e["last_step"] != 0.0 ||
				e["next_step"] != 1.0 || e["next_send_at"] != "2026-12-01T09:30:00+01:00" || e["first_contact"] != "2026-11-20T00:00:00+01:00" {
				t.Errorf("enrollment %v", e)
			}
			if tl := timeline(v); tl != "enrolled@2026-11-24T10:00:00+01:00" {
				t.Errorf("timeline %s", tl)
			}

			// Enrolling again creates nothing: 200, same enrollment.
			resp = r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "mario.rossi@EXAMPLE.com"}}`)
			if resp.status != http.StatusOK || len(resp.json(t)["enrollments"].([]any)) != 1 {
				t.Errorf("second enrollment: %d %s", resp.status, resp.body)
			}

			// GET (any spelling of the address) shows the same.
			resp = r.api("GET", "/api/v1/prospects/"+url.PathEscape("MARIO.rossi@example.com"), "")
			if resp.status != http.StatusOK || enrollment(t, resp.json(t))["next_send_at"] != "2026-12-01T09:30:00+01:00" {
				t.Errorf("get: %d %s", resp.status, resp.body)
			}

			// Pause on the 25th; resume on the 27th: two days later, so
			// step 1 (nominal 30th 00:00 + 2 days = 2 Dec) goes in the
			// window of Wednesday 2 December.
			r.clock.Add(24 * time.Hour)
			resp = r.api("POST", "/api/v1/prospects/mario.rossi@example.com/pause", "")
			e = enrollment(t, resp.json(t))
			if resp.status != 200 || e["state"] != "paused" || e["next_send_at"] != nil || e["next_step"] != nil {
				t.Errorf("pause: %d %v", resp.status, e)
			}
			r.clock.Add(2 * 24 * time.Hour)
			resp = r.api("POST", "/api/v1/prospects/mario.rossi@example.com/resume", "")
			e = enrollment(t, resp.json(t))
			if resp.status != 200 || e["state"] != "active" || e["next_send_at"] != "2026-12-02T09:30:00+01:00" {
				t.Errorf("resume: %d %v", resp.status, e)
			}

			resp = r.api("GET", "/api/v1/sequences/trade-fair/stats", "")
			st := resp.json(t)
			if resp.status != 200 || st["sequence"] != "trade-fair" || st["steps"] != 60.0 ||
				st["enrollments"].(map[string]any)["active"] != 1.0 {
				t.Errorf("stats: %d %s", resp.status, resp.body)
			}
			for _, k := range []string{"funnel", "total"} {
				if _, ok := st[k]; !ok {
					t.Errorf("stats lack %q", k)
				}
			}

			resp = r.api("POST", "/api/v1/prospects/mario.rossi@example.com/unsubscribe", "")
			v = resp.json(t)
			if resp.status != 200 || enrollment(t, v)["state"] != "unsubscribed" || v["prospect"].(map[string]any)["suppressed"] != true {
				t.Errorf("unsubscribe: %d %s", resp.status, resp.body)
			}
			if tl := timeline(v); tl != "enrolled@2026-11-24T10:00:00+01:00 paused@2026-11-25T10:00:00+01:00 resumed@2026-11-27T10:00:00+01:00 unsubscribe@2026-11-27T10:00:00+01:00" {
				t.Errorf("timeline %s", tl)
			}
			wantError(t, "enrolling an unsubscribed address", r.api("POST", "/api/v1/enrollments", body), 409, "suppressed")

			resp = r.api("DELETE", "/api/v1/prospects/mario.rossi@example.com", "")
			if resp.status != http.StatusNoContent || resp.body != "" {
				t.Errorf("forget: %d %q", resp.status, resp.body)
			}
			wantError(t, "get after forget", r.api("GET", "/api/v1/prospects/mario.rossi@example.com", ""), 404, "no prospect")
			wantError(t, "enrol after forget", r.api("POST", "/api/v1/enrollments", body), 409, "suppressed")
			if sup, err := r.st.Suppressed(context.Background(), "mario.rossi@example.com"); err != nil || !sup {
				t.Errorf("forgotten address not suppressed: %v %v", sup, err)
			}
		})
	}
}

// checkShape checks the contract's keys of a prospect view, at every level.
func checkShape(t *testing.T, v map[string]any) {
	t.Helper()
	keys := func(what string, m map[string]any, want ...string) {
		t.Helper()
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q: %v", what, k, m)
			}
		}
	}
	keys("view", v, "prospect", "enrollments", "timeline")
	keys("prospect", v["prospect"].(map[string]any), "email", "first_name", "last_name", "company", "met_at", "timezone", "suppressed", "fields")
	for _, e := range v["enrollments"].([]any) {
		keys("enrollment", e.(map[string]any), "sequence", "sender", "state", "last_step", "next_step", "next_send_at", "first_contact")
	}
	for _, e := range v["timeline"].([]any) {
		keys("timeline entry", e.(map[string]any), "at", "kind", "sequence", "step")
	}
}

func enrollment(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	ens, _ := v["enrollments"].([]any)
	if len(ens) != 1 {
		t.Fatalf("want one enrollment: %v", v)
	}
	return ens[0].(map[string]any)
}

func timeline(v map[string]any) string {
	var out []string
	for _, e := range v["timeline"].([]any) {
		m := e.(map[string]any)
		out = append(out, fmt.Sprintf("%s@%s", m["kind"], m["at"]))
	}
	return strings.Join(out, " ")
}

func TestUnsubscribeLink(t *testing.T) {
	for _, sk := range testrig.Backends() {
		t.Run(sk.Name, func(t *testing.T) {
			r := newRig(t, sk.URL(t), nil)
			for _, email := range []string{"anna@example.com", "bob@example.com"} {
				if resp := r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "`+email+`"}}`); resp.status != 201 {
					t.Fatalf("enroll: %d %s", resp.status, resp.body)
				}
			}
			anna, err := r.st.ProspectGetByEmail(context.Background(), "anna@example.com")
			if err != nil {
				t.Fatal(err)
			}
			link := "/u/" + r.unsub.Token(anna.ID)
			suppressed := func(email string) bool {
				sup, err := r.st.Suppressed(context.Background(), email)
				if err != nil {
					t.Fatal(err)
				}
				return sup
			}

			// GET, as a link scanner would: a page with a button, no unsubscribe.
			resp := r.do("GET", link, "", nil, "")
			if resp.status != 200 || !strings.Contains(resp.body, `<form method="post">`) || !strings.Contains(resp.body, "a…@example.com") {
				t.Errorf("GET link: %d %s", resp.status, resp.body)
			}
			if resp.header.Get("Referrer-Policy") != "no-referrer" || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") {
				t.Errorf("GET link headers: %v", resp.header)
			}
			if suppressed("anna@example.com") {
				t.Fatal("a GET of the link unsubscribed")
			}

			// Tampered tokens: refused, nobody unsubscribed.
			tok := r.unsub.Token(anna.ID)
			other, _ := mailer.NewUnsubscriber("another-secret")
			for _, bad := range []string{tok[:len(tok)-1] + flip(tok[len(tok)-1]), flip(tok[0]) + tok[1:], tok + "A", "x", other.Token(anna.ID)} {
				for _, method := range []string{"GET", "POST"} {
					resp := r.do(method, "/u/"+bad, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"), "")
					if resp.status != http.StatusNotFound || !strings.Contains(resp.body, "not valid") {
						t.Errorf("%s tampered token %q: %d", method, bad, resp.status)
					}
				}
			}
			if suppressed("anna@example.com") || suppressed("bob@example.com") {
				t.Fatal("a tampered token unsubscribed someone")
			}

			// RFC 8058 one-click: POST with List-Unsubscribe=One-Click.
			for range 2 { // idempotent
				resp = r.do("POST", link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"), "")
				if resp.status != 200 || !strings.Contains(resp.body, "You are unsubscribed") {
					t.Errorf("one-click POST: %d %s", resp.status, resp.body)
				}
			}
			if !suppressed("anna@example.com") || suppressed("bob@example.com") {
				t.Error("one-click POST did not unsubscribe exactly its prospect")
			}
			v := r.api("GET", "/api/v1/prospects/anna@example.com", "").json(t)
			if enrollment(t, v)["state"] != "unsubscribed" || strings.Count(timeline(v), "unsubscribe@") != 1 {
				t.Errorf("after one-click: %v", v)
			}
			wantError(t, "re-enrolling", r.api("POST", "/api/v1/enrollments", `{"sequence": "trade-fair", "prospect": {"email": "anna@example.com"}}`), 409, "suppressed")
			if resp := r.do("GET", link, "", nil, ""); resp.status != 200 || strings.Contains(resp.body, "<form") {
				t.Errorf("GET after unsubscribing still offers the button: %s", resp.body)
			}

			// A forgotten prospect's link still answers, and changes nothing.
			if resp := r.api("DELETE", "/api/v1/prospects/anna@example.com", ""); resp.status != 204 {
				t.Fatalf("forget: %d", resp.status)
			}
			if resp := r.do("POST", link, "", nil, ""); resp.status != 200 {
				t.Errorf("POST link of a forgotten prospect: %d %s", resp.status, resp.body)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestImport(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	csv := "email;nome;azienda;first_contact\na@example.com;Anna;Società Alfa;20/11/2026\nbad;B;X;\nc@example.com;C;X;2026-02-30\na@example.com;Anna;;\n"
	resp := r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv; charset=utf-8", strings.NewReader(csv), "Bearer "+token)
	if resp.status != 200 {
		t.Fatalf("import: %d %s", resp.status, resp.body)
	}
	var got struct {
		DryRun                      bool `json:"dry_run"`
		Imported, Updated, Rejected int
		Rejects                     []struct {
			Line   int
			Reason string
		}
	}
	if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Imported != 1 || got.Updated != 1 || got.Rejected != 2 || len(got.Rejects) != 2 ||
		got.Rejects[0].Line != 3 || got.Rejects[1].Line != 4 || !strings.Contains(got.Rejects[1].Reason, "not a valid date") {
		t.Errorf("import summary %+v", got)
	}
	v := r.api("GET", "/api/v1/prospects/a@example.com", "").json(t)
	if p := v["prospect"].(map[string]any); p["first_name"] != "Anna" || p["company"] != "Società Alfa" {
		t.Errorf("imported prospect %v", p)
	}

	// windows-1252 named by the Content-Type's charset.
	resp = r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv; charset=windows-1252",
		strings.NewReader("email,company\nd@example.com,Soci\xe9t\xe9\n"), "Bearer "+token)
	if resp.status != 200 || !strings.Contains(resp.body, `"imported": 1`) {
		t.Errorf("windows-1252 import: %d %s", resp.status, resp.body)
	}
	if p := r.api("GET", "/api/v1/prospects/d@example.com", "").json(t)["prospect"].(map[string]any); p["company"] != "Société" {
		t.Errorf("windows-1252 company %v", p["company"])
	}

	wantError(t, "no sequence", r.do("POST", "/api/v1/imports", "text/csv", strings.NewReader(csv), "Bearer "+token), 400, "sequence is required")
	wantError(t, "no email column", r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", strings.NewReader("name\nx\n"), "Bearer "+token), 400, "no email column")
	wantError(t, "empty body", r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", strings.NewReader(""), "Bearer "+token), 400, "empty file")
	wantError(t, "JSON body", r.do("POST", "/api/v1/imports?sequence=trade-fair", "application/json", strings.NewReader("{}"), "Bearer "+token), 415, "text/csv")
	wantError(t, "bad dry_run", r.do("POST", "/api/v1/imports?sequence=trade-fair&dry_run=maybe", "text/csv", strings.NewReader(csv), "Bearer "+token), 400, "dry_run")

	resp = r.do("POST", "/api/v1/imports?sequence=trade-fair&dry_run=true", "text/csv", strings.NewReader("email\nnew@example.com\n"), "Bearer "+token)
	if resp.status != 200 || !strings.Contains(resp.body, `"dry_run": true`) || !strings.Contains(resp.body, `"imported": 1`) {
		t.Errorf("dry run: %d %s", resp.status, resp.body)
	}
	if resp := r.api("GET", "/api/v1/prospects/new@example.com", ""); resp.status != 404 {
		t.Errorf("a dry run stored a prospect: %d", resp.status)
	}
}

func TestBodyLimit(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), func(o *api.Options) { o.MaxBodyBytes = 1024 })
	big := `{"sequence": "trade-fair", "prospect": {"email": "a@example.com", "notes": "` + strings.Repeat("x", 2000) + `"}}`
	wantError(t, "enrollment over the limit", r.api("POST", "/api/v1/enrollments", big), 413, "larger than 1024 bytes")

	// Without a Content-Length (chunked), the limit bites while reading.
	var rows strings.Builder
	rows.WriteString("email\n")
	for i := range 200 {
		fmt.Fprintf(&rows, "p%d@example.com\n", i)
	}
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, rows.String()); pw.Close() }()
	wantError(t, "chunked import over the limit", r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", pr, "Bearer "+token), 413, "larger than 1024 bytes")
}

func TestHealth(t *testing.T) {
	fail := errors.New("connection refused")
	var down atomic.Bool
	r := newRig(t, testrig.SQLiteURL(t), func(o *api.Options) {
		o.Ready = func(ctx context.Context) error {
			if down.Load() {
				return fail
			}
			return o.Control.Store.Ping(ctx)
		}
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "drip_up 1\n") })
	})
	if resp := r.do("GET", "/healthz", "", nil, ""); resp.status != 200 {
		t.Errorf("healthz: %d", resp.status)
	}
	if resp := r.do("GET", "/readyz", "", nil, ""); resp.status != 200 {
		t.Errorf("readyz: %d", resp.status)
	}
	down.Store(true)
	resp := r.do("GET", "/readyz", "", nil, "")
	wantError(t, "readyz with the store down", resp, 503, "not reachable")
	if strings.Contains(resp.body, "refused") {
		t.Errorf("readyz leaks the store's error: %s", resp.body)
	}
	if resp := r.do("GET", "/metrics", "", nil, ""); resp.status != 200 || resp.body != "drip_up 1\n" {
		t.Errorf("metrics: %d %q", resp.status, resp.body)
	}
}

// brokenStore fails the way a database does, with SQL in the error.
type brokenStore struct{ store.Store }

func (brokenStore) ProspectGetByEmail(context.Context, string) (store.Prospect, error) {
	return store.Prospect{}, errors.New(`pq: relation "prospects" does not exist (password=hunter2)`)
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), func(o *api.Options) {
		o.Control.Store = brokenStore{o.Control.Store}
	})
	resp := r.api("GET", "/api/v1/prospects/a@example.com", "")
	wantError(t, "store failure", resp, 500, "internal error")
	if strings.Contains(resp.body, "pq") || strings.Contains(resp.body, "hunter2") {
		t.Errorf("500 leaks the internal error: %s", resp.body)
	}
}

// late_start= overrides the sequence's late_start for one import: a
// contact 95 days back starts at step 1 with first, at its latest
// past-due step without.
func TestImportLateStart(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	late := t0.AddDate(0, 0, -95).Format("2006-01-02")
	for _, tc := range []struct{ query, email string }{{"&late_start=first", "first@example.com"}, {"", "latest@example.com"}} {
		resp := r.do("POST", "/api/v1/imports?sequence=trade-fair"+tc.query, "text/csv", strings.NewReader("email,first_contact\n"+tc.email+","+late+"\n"), "Bearer "+token)
		if resp.status != 200 || !strings.Contains(resp.body, `"imported": 1`) {
			t.Fatalf("import%s: %d %s", tc.query, resp.status, resp.body)
		}
	}
	step := func(email string) float64 {
		ens := r.api("GET", "/api/v1/prospects/"+email, "").json(t)["enrollments"].([]any)
		n, _ := ens[0].(map[string]any)["next_step"].(float64)
		return n
	}
	if got := step("first@example.com"); got != 1 {
		t.Errorf("late_start=first: next step %v, want 1", got)
	}
	if got := step("latest@example.com"); got != 9 {
		t.Errorf("the sequence's latest: next step %v, want 9, the latest past-due step (R3)", got)
	}
	wantError(t, "bad late_start", r.do("POST", "/api/v1/imports?sequence=trade-fair&late_start=soon", "text/csv", strings.NewReader("email\nx@example.com\n"), "Bearer "+token), 400, `late_start "soon"`)
}
