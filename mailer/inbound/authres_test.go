package inbound

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestParseAuthResults: the Authentication-Results fields that providers
// really write read as the verdicts they state.
func TestParseAuthResults(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		want        AuthResults
	}{
		{"gmail", `mx.google.com;
       dkim=pass header.i=@gmail.com header.s=20230601 header.b=abc;
       spf=pass (google.com: domain of luca@gmail.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=luca@gmail.com;
       dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com`,
			AuthResults{AuthservID: "mx.google.com", DMARC: "pass", SPF: "pass", DKIM: "pass"}},
		{"gmail forged From", `mx.google.com; spf=pass (google.com: domain of x@evil.example designates 192.0.2.1 as permitted sender) smtp.mailfrom=x@evil.example; dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=acciaierie.example`,
			AuthResults{AuthservID: "mx.google.com", DMARC: "fail", SPF: "pass"}},
		{"microsoft 365 without authserv-id", `spf=pass (sender IP is 209.85.221.45) smtp.mailfrom=gmail.com; dkim=pass (signature was verified) header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass reason=100`,
			AuthResults{DMARC: "pass", SPF: "pass", DKIM: "pass"}},
		{"semicolon inside a comment", `outlook.example.com; spf=none (sender IP is 65.55.116.81; identity alignment result is pass) smtp.helo=a.example; dkim=none (identity; alignment) header.d=a.example`,
			AuthResults{AuthservID: "outlook.example.com", SPF: "none", DKIM: "none"}},
		{"version and upper case", `MX.Example.ORG 1; SPF=SoftFail smtp.mailfrom=a@b.example; DKIM=Fail header.d=b.example`,
			AuthResults{AuthservID: "mx.example.org", SPF: "softfail", DKIM: "fail"}},
		{"any passing signature counts", `mx.example.org; dkim=fail header.d=a.example; dkim=pass header.d=b.example; dkim=fail header.d=c.example`,
			AuthResults{AuthservID: "mx.example.org", DKIM: "pass"}},
		{"no results", `mx.example.org; none`, AuthResults{AuthservID: "mx.example.org"}},
		{"a broken result does not hide the others", `mx.example.org; garbage; arc=pass header.oldest-pass=x; dmarc=fail header.from=a.example`,
			AuthResults{AuthservID: "mx.example.org", DMARC: "fail"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseAuthResults(tt.value); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestParseKeepsAuthResultsInOrder: Message.Auth lists the fields from the
// top of the header down (the last server that received the message wrote
// the topmost one), and reads none from a returned message.
func TestParseKeepsAuthResultsInOrder(t *testing.T) {
	raw := "Authentication-Results: mx.google.com; dmarc=fail header.from=a.example\r\n" +
		"Received: from x by y\r\n" +
		"Authentication-Results: mx.evil.example;\r\n\tdmarc=pass header.from=a.example\r\n" +
		"From: a@a.example\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nAuthentication-Results: inner.example; dmarc=pass\r\nFrom: z@z.example\r\n\r\nx\r\n--b--\r\n"
	m, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []AuthResults{{AuthservID: "mx.google.com", DMARC: "fail"}, {AuthservID: "mx.evil.example", DMARC: "pass"}}
	if len(m.Auth) != len(want) {
		t.Fatalf("Auth = %+v, want %+v", m.Auth, want)
	}
	for i := range want {
		if m.Auth[i] != want[i] {
			t.Errorf("Auth[%d] = %+v, want %+v", i, m.Auth[i], want[i])
		}
	}
}

// FuzzParseAuthResults: no value makes the reader panic, and what it
// returns is bounded: an authserv-id without separators, result values
// that are single short words.
func FuzzParseAuthResults(f *testing.F) {
	f.Add(`mx.google.com; dkim=pass header.i=@gmail.com; spf=pass (google.com: x) smtp.mailfrom=a@b; dmarc=pass header.from=b`)
	f.Add(`spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=a.example; dmarc=fail action=none header.from=a.example`)
	f.Add(`a; (((;;)) dmarc=fail "quoted ; (x)" \( spf=`)
	f.Add(`example.org 2; arc=pass header.oldest-pass=0`)
	f.Add(strings.Repeat("dkim=pass;", 200))
	f.Fuzz(func(t *testing.T, v string) {
		ar := ParseAuthResults(v)
		if strings.ContainsAny(ar.AuthservID, "; \t\r\n") {
			t.Errorf("AuthservID %q holds a separator", ar.AuthservID)
		}
		for _, r := range []string{ar.DMARC, ar.SPF, ar.DKIM} {
			if len(r) > maxAuthValue || strings.ContainsAny(r, "; \t\r\n") || !utf8.ValidString(r) {
				t.Errorf("result %q is not one word", r)
			}
			if r != strings.ToLower(r) {
				t.Errorf("result %q not lower-cased", r)
			}
		}
		if len(ar.AuthservID) > maxAuthValue || ar.AuthservID != strings.ToLower(ar.AuthservID) {
			t.Errorf("AuthservID %q", ar.AuthservID)
		}
		// Through a whole message too.
		m, err := Parse([]byte("Authentication-Results: " + v + "\r\nFrom: a@b.example\r\n\r\nhi"))
		if err == nil && len(m.Auth) > maxAuthFields {
			t.Errorf("%d fields read", len(m.Auth))
		}
	})
}
