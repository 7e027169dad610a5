package mailer

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

func newUnsub(t testing.TB, secret string) *Unsubscriber {
	t.Helper()
	u, err := NewUnsubscriber(secret)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUnsubscribeRoundTrip(t *testing.T) {
	u := newUnsub(t, "s3cret")
	for _, id := range []int64{1, 2, 127, 128, 4242, 1 << 40, math.MaxInt64} {
		tok := u.Token(id)
		if url.PathEscape(tok) != tok {
			t.Errorf("token %q is not URL-safe", tok)
		}
		got, ok := u.Verify(tok)
		if !ok || got != id {
			t.Errorf("Verify(Token(%d)) = %d, %v", id, got, ok)
		}
	}
}

func TestUnsubscribeRejectsTampering(t *testing.T) {
	u := newUnsub(t, "s3cret")
	tok := u.Token(4242)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		for _, c := range alphabet {
			if byte(c) == tok[i] {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if id, ok := u.Verify(bad); ok {
				t.Fatalf("tampered token %q (char %d → %c) verified as %d", bad, i, c, id)
			}
		}
	}
	for _, bad := range []string{tok[:len(tok)-1], tok + "A", "x" + tok, tok[1:], ""} {
		if _, ok := u.Verify(bad); ok {
			t.Errorf("token %q verified", bad)
		}
	}
}

func TestUnsubscribeTokenIsBoundToItsID(t *testing.T) {
	u := newUnsub(t, "s3cret")
	if id, ok := u.Verify(u.Token(1)); !ok || id != 1 {
		t.Fatalf("token for 1 verifies as %d, %v", id, ok)
	}
	if u.Token(1) == u.Token(2) {
		t.Fatal("ids 1 and 2 have the same token")
	}
	// Splice id 2's payload onto id 1's MAC.
	t1, t2 := u.Token(1), u.Token(2)
	spliced := t2[:2] + t1[2:]
	if id, ok := u.Verify(spliced); ok {
		t.Errorf("spliced token verified as %d", id)
	}
}

func TestUnsubscribeOtherSecretFails(t *testing.T) {
	a, b := newUnsub(t, "secret-a"), newUnsub(t, "secret-b")
	if _, ok := b.Verify(a.Token(7)); ok {
		t.Error("token made with one secret verified with another")
	}
	if _, err := NewUnsubscriber(""); err == nil {
		t.Error("empty secret accepted")
	}
}

func TestUnsubscribeURL(t *testing.T) {
	u := newUnsub(t, "s3cret")
	for _, base := range []string{"https://drip.example.com", "https://drip.example.com/"} {
		got := u.URL(base, 9)
		tok, ok := strings.CutPrefix(got, "https://drip.example.com/u/")
		if !ok {
			t.Fatalf("URL(%q) = %q", base, got)
		}
		if id, ok := u.Verify(tok); !ok || id != 9 {
			t.Errorf("URL token verifies as %d, %v", id, ok)
		}
	}
}

func FuzzVerify(f *testing.F) {
	u := newUnsub(f, "s3cret")
	f.Add(u.Token(1))
	f.Add(u.Token(math.MaxInt64))
	f.Add("")
	f.Add("AAAA")
	f.Add("////====")
	f.Fuzz(func(t *testing.T, token string) {
		id, ok := u.Verify(token)
		if ok && u.Token(id) != token {
			t.Errorf("Verify(%q) accepted a token Token(%d) = %q would not produce", token, id, u.Token(id))
		}
	})
}

func TestUnsubscribeAlsoAcceptsEarlierKeys(t *testing.T) {
	old, cur := newUnsub(t, "the-old-derived-key"), newUnsub(t, "the-new-random-key")
	if _, ok := cur.Verify(old.Token(7)); ok {
		t.Fatal("an earlier key's token verified before it was accepted")
	}
	cur.AlsoAccept("the-old-derived-key")
	if id, ok := cur.Verify(old.Token(7)); !ok || id != 7 {
		t.Fatalf("link already sent under the earlier key: %d, %v; want 7, true", id, ok)
	}
	if cur.Token(7) == old.Token(7) {
		t.Fatal("new tokens are still made with the earlier key")
	}
	if _, ok := cur.Verify(newUnsub(t, "a third key").Token(7)); ok {
		t.Fatal("a token under a key never given verified")
	}
}
