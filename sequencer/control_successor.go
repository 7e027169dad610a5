package sequencer

import (
	"context"
	"strings"

	"github.com/drip-email/drip/store"
)

// SuccessorView is who took over from a prospect who left the company, as
// the auto-reply named them (the API's enrollment "successor").
type SuccessorView struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

func successorView(e store.Enrollment) *SuccessorView {
	if e.State != store.StateLeft || e.Successor.IsZero() {
		return nil
	}
	return &SuccessorView{Email: e.Successor.Email, Name: e.Successor.Name}
}

// EnrollSuccessor enrols the successor named when email's enrollment in
// sequence ended `left`: in the same sequence, from the same sender, with
// the same company, "met at", time zone, language and custom fields (what
// the templates of that sequence need), first contacted now. The name the
// auto-reply gave is split into first and last name. It is a conflict when
// the enrollment did not end left, and invalid when the auto-reply named
// no address; enrolling a successor twice changes nothing (Created false).
func (c *Control) EnrollSuccessor(ctx context.Context, email, sequence string) (EnrollResult, error) {
	p, e, _, err := c.enrollmentIn(ctx, email, sequence)
	if err != nil {
		return EnrollResult{}, err
	}
	if e.State != store.StateLeft {
		return EnrollResult{}, conflictf("%s's enrollment in %s is %s, not left: there is no successor to enrol", p.Email, sequence, e.State)
	}
	if e.Successor.Email == "" {
		return EnrollResult{}, invalidf("the auto-reply of %s named no successor's address", p.Email)
	}
	first, last := splitName(e.Successor.Name)
	fields := make(map[string]string, len(p.Fields))
	for k, v := range p.Fields {
		fields[k] = v
	}
	return c.Enroll(ctx, EnrollRequest{
		Sequence: sequence, Sender: e.Sender,
		Prospect: store.Prospect{
			Email: e.Successor.Email, FirstName: first, LastName: last, Company: p.Company,
			MetAt: p.MetAt, Timezone: p.Timezone, Language: p.Language, Fields: fields,
		},
	})
}

// splitName: the first word is the first name, the rest the last name.
func splitName(name string) (first, last string) {
	f := strings.Fields(name)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], strings.Join(f[1:], " ")
}
