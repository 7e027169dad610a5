package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/drip-email/drip/sequencer"
)

// The funnel page shows a table by language once prospects have one.
func TestFunnelByLanguage(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	list := "email,language\na@x.it,it\nb@x.it,it-IT\nc@x.pl,pl\nd@x.com,\n"
	if _, err := r.control.Import(ctx, strings.NewReader(list), sequencer.ImportRequest{Sequence: "trade-fair"}); err != nil {
		t.Fatal(err)
	}
	sendStep1(t, r, []string{"a@x.it", "b@x.it", "c@x.pl", "d@x.com"}, "a@x.it")
	b := r.browser(t)
	b.signIn()
	p := b.get("/ui/funnel")
	if p.status != http.StatusOK {
		t.Fatalf("funnel: status %d", p.status)
	}
	for _, want := range []string{
		"<caption>By language</caption>",
		`<th scope="row" class="who" lang="it">it</th>
      <td data-label="Enrolled">2</td>
      <td data-label="Sent">2</td>
      <td data-label="Replied">1</td>`,
		`<th scope="row" class="who" lang="pl">pl</th>
      <td data-label="Enrolled">1</td>
      <td data-label="Sent">1</td>
      <td data-label="Replied">0</td>`,
		`<th scope="row" class="who" lang="">none given</th>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("funnel lacks %q\n", want)
		}
	}
}

// The enrol form takes the lead's language.
func TestEnrollFormTakesTheLanguage(t *testing.T) {
	r := newRig(t, nil)
	b := r.browser(t)
	csrf := b.signIn()
	if form := b.get("/ui/enroll"); !strings.Contains(form.body, `name="language"`) {
		t.Fatal("the enrol form has no language field")
	}
	v := enrollForm(csrf, "jan@x.pl")
	v.Set("language", "pl")
	p := b.post("/ui/enroll", v)
	if p.status != http.StatusSeeOther {
		t.Fatalf("enrol: status %d\n%s", p.status, p.body)
	}
	got, err := r.control.Store.ProspectGetByEmail(context.Background(), "jan@x.pl")
	if err != nil || got.Language != "pl" {
		t.Errorf("stored language %q, %v; want pl", got.Language, err)
	}
}
