package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/drip-email/drip/internal/testrig"
)

// The unsubscribe page speaks the prospect's language; a link drip cannot
// read speaks the browser's.
func TestUnsubscribePageInProspectsLanguage(t *testing.T) {
	r := newRig(t, testrig.Backends()[0].URL(t), nil)
	for _, tc := range []struct {
		email, lang, confirm, button, done string
	}{
		{"giulia@example.com", "it", "Non vuole più ricevere email all&#39;indirizzo g…@example.com?", "Annulla l&#39;iscrizione", "La sua iscrizione è stata annullata"},
		{"jan@example.com", "pl-PL", "Zrezygnować z wiadomości na adres j…@example.com?", "Wypisz mnie", "Adres został wypisany."},
		{"john@example.com", "en", "Stop the emails to j…@example.com?", "Unsubscribe", "You are unsubscribed"},
		{"hans@example.com", "", "Stop the emails to h…@example.com?", "Unsubscribe", "You are unsubscribed"},
	} {
		body := `{"sequence": "trade-fair", "prospect": {"email": "` + tc.email + `", "language": "` + tc.lang + `"}}`
		if resp := r.api("POST", "/api/v1/enrollments", body); resp.status != 201 {
			t.Fatalf("enroll %s: %d %s", tc.email, resp.status, resp.body)
		}
		p, err := r.st.ProspectGetByEmail(context.Background(), tc.email)
		if err != nil {
			t.Fatal(err)
		}
		link := "/u/" + r.unsub.Token(p.ID)
		resp := r.do("GET", link, "", nil, "")
		if resp.status != 200 || !strings.Contains(resp.body, tc.confirm) || !strings.Contains(resp.body, ">"+tc.button+"</button>") {
			t.Errorf("%s (%q) GET: %d\n%s", tc.email, tc.lang, resp.status, resp.body)
		}
		resp = r.do("POST", link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"), "")
		if resp.status != 200 || !strings.Contains(resp.body, tc.done) {
			t.Errorf("%s (%q) POST: %d\n%s", tc.email, tc.lang, resp.status, resp.body)
		}
	}

	req, _ := http.NewRequest("GET", r.srv.URL+"/u/not-a-token", nil)
	req.Header.Set("Accept-Language", "de-DE, pl;q=0.8, en;q=0.5")
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if page := string(raw); resp.StatusCode != 404 || !strings.Contains(page, `lang="pl"`) || !strings.Contains(page, "Nieprawidłowy link") {
		t.Errorf("invalid link with Accept-Language pl: %d\n%s", resp.StatusCode, page)
	}
}
