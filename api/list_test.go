package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

type listPage struct {
	Prospects []struct {
		Email      string `json:"email"`
		LastName   string `json:"last_name"`
		Timezone   string `json:"timezone"`
		Enrollment *struct {
			Sequence   string  `json:"sequence"`
			Sender     string  `json:"sender"`
			State      string  `json:"state"`
			NextStep   *int    `json:"next_step"`
			NextSendAt *string `json:"next_send_at"`
		} `json:"enrollment"`
	} `json:"prospects"`
	Page, Limit, Total int
	TotalCapped        bool `json:"total_capped"`
	NextPage           *int `json:"next_page"`
}

// GET /api/v1/prospects pages through the list, searched (case folded for
// every letter) and filtered by state, sequence and sender, behind the
// bearer token like every /api route.
func TestListProspects(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	var list strings.Builder
	list.WriteString("email,last_name,timezone\nzolc@example.pl,Żółć,Europe/Warsaw\n")
	for i := range 24 {
		fmt.Fprintf(&list, "lead%02d@example.com,Rossi,\n", i)
	}
	if resp := r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", strings.NewReader(list.String()), "Bearer "+token); resp.status != 200 {
		t.Fatalf("import: %d %s", resp.status, resp.body)
	}
	if resp := r.api("POST", "/api/v1/prospects/lead03@example.com/pause", ""); resp.status != 200 {
		t.Fatalf("pause: %d %s", resp.status, resp.body)
	}
	get := func(query string) listPage {
		t.Helper()
		resp := r.api("GET", "/api/v1/prospects"+query, "")
		if resp.status != 200 {
			t.Fatalf("GET /api/v1/prospects%s: %d %s", query, resp.status, resp.body)
		}
		var p listPage
		if err := json.Unmarshal([]byte(resp.body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	seen := map[string]bool{}
	page := 1
	for {
		p := get(fmt.Sprintf("?limit=10&page=%d", page))
		if p.Total != 25 || p.TotalCapped || p.Limit != 10 || p.Page != page {
			t.Fatalf("page %d: total %d capped %v limit %d page %d", page, p.Total, p.TotalCapped, p.Limit, p.Page)
		}
		for _, it := range p.Prospects {
			if seen[it.Email] {
				t.Errorf("%s on two pages", it.Email)
			}
			seen[it.Email] = true
		}
		if p.NextPage == nil {
			if len(p.Prospects) != 5 {
				t.Errorf("last page has %d prospects, want 5", len(p.Prospects))
			}
			break
		}
		page = *p.NextPage
	}
	if len(seen) != 25 || page != 3 {
		t.Errorf("paged through %d prospects in %d pages, want 25 in 3", len(seen), page)
	}

	p := get("?q=%C5%BB%C3%93%C5%81%C4%86") // ŻÓŁĆ
	if len(p.Prospects) != 1 || p.Prospects[0].Email != "zolc@example.pl" || p.Prospects[0].LastName != "Żółć" {
		t.Fatalf("search ŻÓŁĆ: %+v", p.Prospects)
	}
	z := p.Prospects[0]
	if z.Timezone != "Europe/Warsaw" || z.Enrollment == nil || z.Enrollment.Sequence != "trade-fair" || z.Enrollment.Sender != "maria" ||
		z.Enrollment.State != "active" || z.Enrollment.NextStep == nil || *z.Enrollment.NextStep != 1 ||
		z.Enrollment.NextSendAt == nil || !strings.HasSuffix(*z.Enrollment.NextSendAt, "+01:00") {
		t.Errorf("zolc's row: %+v %+v", z, z.Enrollment)
	}
	if p := get("?state=paused"); p.Total != 1 || p.Prospects[0].Email != "lead03@example.com" || p.Prospects[0].Enrollment.NextStep != nil {
		t.Errorf("state=paused: %+v", p)
	}
	if p := get("?state=paused&sequence=trade-fair&sender=maria&q=lead"); p.Total != 1 {
		t.Errorf("every filter together: total %d, want 1", p.Total)
	}
	if p := get("?q=nobody"); p.Total != 0 || p.Prospects == nil || len(p.Prospects) != 0 || p.NextPage != nil {
		t.Errorf("no match: %+v (want an empty list, not null)", p)
	}

	for _, bad := range []struct{ query, msg string }{
		{"?state=sleeping", "state="}, {"?sequence=webinar", "sequence="}, {"?sender=nobody", "sender="},
		{"?page=0", "page="}, {"?limit=501", "limit="}, {"?limit=x", "limit="}, {"?page=99999999", "beyond"},
	} {
		wantError(t, bad.query, r.api("GET", "/api/v1/prospects"+bad.query, ""), 400, bad.msg)
	}
	wantError(t, "no token", r.do("GET", "/api/v1/prospects", "", nil, ""), 401, "API token")
}

// The funnel of a sequence as CSV: the JSON stats' rows and a total.
func TestStatsCSV(t *testing.T) {
	r := newRig(t, testrig.SQLiteURL(t), nil)
	if resp := r.do("POST", "/api/v1/imports?sequence=trade-fair", "text/csv", strings.NewReader("email\na@example.com\n"), "Bearer "+token); resp.status != 200 {
		t.Fatalf("import: %d %s", resp.status, resp.body)
	}
	resp := r.api("GET", "/api/v1/sequences/trade-fair/stats.csv", "")
	if resp.status != 200 || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.header.Get("Content-Disposition"), `filename="trade-fair-funnel.csv"`) {
		t.Fatalf("stats.csv: %d %q %q", resp.status, resp.header.Get("Content-Type"), resp.header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(resp.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || strings.Join(recs[0], ",") != "sequence,step,sent,replied,reply_rate,auto_replies,bounced,unsubscribed,skipped,failed,unknown" ||
		strings.Join(recs[1], ",") != "trade-fair,total,0,0,0.0000,0,0,0,0,0,0" {
		t.Errorf("stats.csv:\n%s", resp.body)
	}
	wantError(t, "unknown sequence", r.api("GET", "/api/v1/sequences/webinar/stats.csv", ""), 404, "webinar")
	wantError(t, "no token", r.do("GET", "/api/v1/sequences/trade-fair/stats.csv", "", nil, ""), 401, "API token")
}
