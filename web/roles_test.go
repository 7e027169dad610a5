package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drip-email/drip/internal/password"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
)

const userPassword = "a long enough password"

func (r *rig) addUser(t *testing.T, name string, role store.Role, senders ...string) {
	t.Helper()
	h, err := password.Hash(userPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.UserCreate(context.Background(), store.User{Name: name, PasswordHash: h, Role: role, Senders: senders, CreatedAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) enrolAs(t *testing.T, email, sender string) {
	t.Helper()
	if _, err := r.control.Enroll(context.Background(), sequencer.EnrollRequest{Sequence: "trade-fair", Sender: sender,
		Prospect: store.Prospect{Email: email}}); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) signInAs(name, pw string) page {
	b.t.Helper()
	return b.post("/ui/signin", url.Values{"user": {name}, "token": {pw}})
}

func (r *rig) state(t *testing.T, email string) store.State {
	t.Helper()
	v, err := r.control.ProspectView(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return v.Enrollments[0].State
}

// TestRolesPerRoute: a rep sees and acts on the prospects of its senders
// only, on every route; ops (a user or the API token) on everything.
func TestRolesPerRoute(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	r.addUser(t, "olga", store.RoleOps)
	r.enrolAs(t, "mine@example.com", "maria")
	r.enrolAs(t, "theirs@example.com", "piotr")
	mine, theirs := "/ui/prospects/mine%40example.com", "/ui/prospects/theirs%40example.com"

	rep := r.browser(t)
	if p := rep.signInAs("giulia", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("rep sign-in: status %d\n%s", p.status, p.body)
	}
	csrf := rep.csrf()
	if p := rep.get("/ui/prospects"); p.status != 200 || !strings.Contains(p.body, "mine@example.com") || strings.Contains(p.body, "theirs@example.com") {
		t.Errorf("rep's list: status %d, mine shown %v, theirs shown %v", p.status,
			strings.Contains(p.body, "mine@example.com"), strings.Contains(p.body, "theirs@example.com"))
	}
	if p := rep.get(mine); p.status != 200 {
		t.Errorf("rep, own prospect's page: %d", p.status)
	}
	if p := rep.get(theirs); p.status != 404 || strings.Contains(p.body, "theirs@example.com") {
		t.Errorf("rep, another rep's prospect's page: %d, want 404 without it", p.status)
	}
	if p := rep.post(theirs+"/pause", url.Values{"csrf": {csrf}}); p.status != 404 || r.state(t, "theirs@example.com") != store.StateActive {
		t.Errorf("rep pausing another rep's prospect: %d, state %s; want 404 and still active", p.status, r.state(t, "theirs@example.com"))
	}
	if p := rep.post(mine+"/pause", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther || r.state(t, "mine@example.com") != store.StatePaused {
		t.Errorf("rep pausing its own prospect: %d, state %s", p.status, r.state(t, "mine@example.com"))
	}
	if p := rep.post(mine+"/resume", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther || r.state(t, "mine@example.com") != store.StateActive {
		t.Errorf("rep resuming its own prospect: %d", p.status)
	}
	if p := rep.get("/ui/import"); p.status != http.StatusForbidden {
		t.Errorf("rep, import page: %d, want 403", p.status)
	}
	if p := rep.post("/ui/import", url.Values{"csrf": {csrf}, "sequence": {"trade-fair"}, "csv": {"email\nx@example.com\n"}}); p.status != http.StatusForbidden {
		t.Errorf("rep, import post: %d, want 403", p.status)
	}
	if p := rep.get("/ui/enroll"); !strings.Contains(p.body, `value="maria"`) || strings.Contains(p.body, `value="piotr"`) {
		t.Errorf("rep's enrol form offers senders that are not its own")
	}
	form := enrollForm(csrf, "new-for-piotr@example.com")
	form.Set("sender", "piotr")
	if p := rep.post("/ui/enroll", form); p.status != http.StatusForbidden {
		t.Errorf("rep enrolling for another sender: %d, want 403", p.status)
	}
	if _, err := r.control.Prospect(context.Background(), "new-for-piotr@example.com"); err == nil {
		t.Error("the refused enrolment stored the prospect")
	}
	if p := rep.post("/ui/enroll", enrollForm(csrf, "new-for-maria@example.com")); p.status != http.StatusSeeOther {
		t.Errorf("rep enrolling for its sender: %d", p.status)
	}
	if p := rep.get("/ui/funnel"); p.status != 200 {
		t.Errorf("rep, funnel: %d", p.status)
	}
	if p := rep.get("/ui/enroll?enrolled=theirs%40example.com&sequence=trade-fair"); strings.Contains(p.body, "theirs@example.com") {
		t.Error("the enrol page's confirmation shows another rep's prospect")
	}

	ops := r.browser(t)
	if p := ops.signInAs("olga", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("ops sign-in: %d", p.status)
	}
	if p := ops.get("/ui/prospects"); !strings.Contains(p.body, "mine@example.com") || !strings.Contains(p.body, "theirs@example.com") {
		t.Error("ops's list does not show every prospect")
	}
	for _, path := range []string{theirs, mine, "/ui/import"} {
		if p := ops.get(path); p.status != 200 {
			t.Errorf("ops, %s: %d", path, p.status)
		}
	}
}

// TestUserSignIn: a wrong password is refused like a wrong token; a
// password change or removal signs the user's sessions out.
func TestUserSignIn(t *testing.T) {
	r := newRig(t, nil)
	r.addUser(t, "giulia", store.RoleRep, "maria")
	b := r.browser(t)
	if p := b.signInAs("giulia", "not the password at all"); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", p.status)
	}
	if p := b.signInAs("nobody", userPassword); p.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d, want 401", p.status)
	}
	if p := b.signInAs("giulia", userPassword); p.status != http.StatusSeeOther {
		t.Fatalf("right password: %d", p.status)
	}
	if p := b.get("/ui/prospects"); p.status != 200 {
		t.Fatalf("signed in: %d", p.status)
	}
	time.Sleep(1100 * time.Millisecond) // sessions count in seconds
	h, _ := password.Hash("another long password")
	if err := r.st.UserSetPassword(context.Background(), "giulia", h, time.Now()); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/ui/prospects"); p.status != http.StatusSeeOther {
		t.Errorf("after a password change the old session goes on: %d", p.status)
	}
	if p := b.signInAs("giulia", "another long password"); p.status != http.StatusSeeOther {
		t.Fatalf("new password: %d", p.status)
	}
	if err := r.st.UserDelete(context.Background(), "giulia"); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/ui/prospects"); p.status != http.StatusSeeOther {
		t.Errorf("after removal the session goes on: %d", p.status)
	}
}
