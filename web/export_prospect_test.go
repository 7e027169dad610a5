package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/drip-email/drip/store"
)

// The prospect page offers ops the export of everything about the
// prospect; a rep neither sees the link nor gets the file.
func TestExportProspectIsForOps(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	r.addUser(t, "olga", store.RoleOps)
	r.enrolAs(t, "mine@example.com", "maria")
	page, file := "/ui/prospects/mine%40example.com", "/ui/prospects/mine%40example.com/export.json"

	ops := r.browser(t)
	if p := ops.signInAs("olga", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("ops sign-in: %d", p.status)
	}
	if p := ops.get(page); !strings.Contains(p.body, `href="/ui/prospects/mine@example.com/export.json" download>Export everything`) {
		t.Errorf("ops page lacks the export link\n%s", p.body)
	}
	p := ops.get(file)
	var x map[string]any
	if p.status != 200 || json.Unmarshal([]byte(p.body), &x) != nil || x["prospect"].(map[string]any)["email"] != "mine@example.com" {
		t.Fatalf("ops export: %d\n%s", p.status, p.body)
	}

	rep := r.browser(t)
	if p := rep.signInAs("giulia", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("rep sign-in: %d", p.status)
	}
	if p := rep.get(page); p.status != 200 || strings.Contains(p.body, "export.json") {
		t.Errorf("rep page: %d, shows the export link %v", p.status, strings.Contains(p.body, "export.json"))
	}
	if p := rep.get(file); p.status != http.StatusForbidden || strings.Contains(p.body, `"prospect"`) {
		t.Errorf("rep export: %d", p.status)
	}
}
