package inbound

import (
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-msgauth/authres"
)

// AuthResults is one Authentication-Results header field (RFC 8601): the
// verdicts a receiving server wrote about the message. Only what deciding
// trust needs is kept. Result values are lower-cased ("pass", "fail",
// "softfail", "none", ...); "" when the field gives no result of that
// method.
type AuthResults struct {
	// AuthservID names the server that wrote the field, lower-cased; ""
	// when it names none (Microsoft 365 writes its fields without one).
	AuthservID string
	DMARC      string
	SPF        string
	// DKIM is "pass" when any signature passed, else the first result.
	DKIM string
}

// Bounds on reading Authentication-Results, whatever arrives.
const (
	maxAuthFields = 20      // fields read, from the top
	maxAuthValue  = 8 << 10 // bytes of one field's value read
	maxAuthParts  = 64      // results read in one field
)

// readAuthResults reads the Authentication-Results fields of a header,
// topmost first (the one the last receiving server, normally the rep's
// provider, added). A field that does not parse as a whole still gives
// the results read before the damage; one with none is kept, empty, so
// that its position still counts.
func readAuthResults(h message.Header) []AuthResults {
	vals := h.Values("Authentication-Results")
	if len(vals) > maxAuthFields {
		vals = vals[:maxAuthFields]
	}
	out := make([]AuthResults, 0, len(vals))
	for _, v := range vals {
		out = append(out, ParseAuthResults(v))
	}
	return out
}

// ParseAuthResults reads one Authentication-Results value leniently with
// go-msgauth's parser: comments are removed first (the parser would split
// on a ";" inside one), a field without an authserv-id (Microsoft 365's
// "spf=pass ...; dkim=pass ...") is read as one with an empty id, and what
// does not parse is left out.
func ParseAuthResults(v string) AuthResults {
	if len(v) > maxAuthValue {
		v = v[:maxAuthValue]
	}
	v = strings.ToValidUTF8(stripComments(v), "")
	first, _, _ := strings.Cut(v, ";")
	if strings.Contains(first, "=") {
		v = ";" + v // no authserv-id: results right away
	}
	if strings.Count(v, ";") > maxAuthParts {
		parts := strings.SplitN(v, ";", maxAuthParts+2)
		v = strings.Join(parts[:maxAuthParts+1], ";")
	}
	id, results := parseAuthLenient(v)
	ar := AuthResults{AuthservID: strings.ToLower(id)}
	for _, r := range results {
		switch r := r.(type) {
		case *authres.DMARCResult:
			if ar.DMARC == "" {
				ar.DMARC = string(r.Value)
			}
		case *authres.SPFResult:
			if ar.SPF == "" {
				ar.SPF = string(r.Value)
			}
		case *authres.DKIMResult:
			if ar.DKIM == "" || r.Value == authres.ResultPass {
				ar.DKIM = string(r.Value)
			}
		}
	}
	return ar
}

// parseAuthLenient is authres.Parse, going on past a result that does not
// parse (authres stops at the first one) and past an unsupported version.
func parseAuthLenient(v string) (string, []authres.Result) {
	head, rest, _ := strings.Cut(v, ";")
	id := strings.TrimSpace(head)
	if i := strings.IndexAny(id, " \t"); i > 0 {
		id = id[:i] // "example.org 1": the version
	}
	var out []authres.Result
	for _, part := range strings.Split(rest, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		_, rs, err := authres.Parse("x;" + part)
		if err != nil {
			continue
		}
		out = append(out, rs...)
	}
	return id, out
}

// stripComments removes RFC 5322 comments ("(...)", nested, with quoted
// pairs) outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (depth > 0 || quoted):
			if depth == 0 {
				b.WriteByte(c)
				if i+1 < len(s) {
					b.WriteByte(s[i+1])
				}
			}
			i++
		case quoted:
			b.WriteByte(c)
			if c == '"' {
				quoted = false
			}
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth > 0:
		case c == '"':
			quoted = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
