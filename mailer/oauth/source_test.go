package oauth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/oauth/oauthtest"
	"github.com/drip-email/drip/store/pgtest"
)

const testKey = "0123456789abcdef0123456789abcdef-test-key"

func authServer(t *testing.T, opts oauthtest.Options) *oauthtest.Server {
	t.Helper()
	srv, err := oauthtest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func clientConfig(srv *oauthtest.Server) *oauth2.Config {
	return &oauth2.Config{ClientID: "drip-test", Endpoint: oauth2.Endpoint{
		AuthURL: srv.AuthURL(), TokenURL: srv.TokenURL(), DeviceAuthURL: srv.DeviceURL(),
		AuthStyle: oauth2.AuthStyleInParams}}
}

func box(t *testing.T) *Box {
	b, err := NewBox(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connect stores a grant for sender as `drip mailbox connect` would.
func connect(t *testing.T, st Store, b *Box, srv *oauthtest.Server, sender string) {
	t.Helper()
	at, rt := srv.Issue("drip")
	tok := &oauth2.Token{AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(time.Hour)}
	if err := Save(context.Background(), st, b, sender, tok, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func storedRefresh(t *testing.T, st Store, b *Box, sender string) string {
	t.Helper()
	g, err := st.GrantGet(context.Background(), sender)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := openGrant(b, sender, g.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return gr.RefreshToken
}

func TestBoxSealsPerSender(t *testing.T) {
	b := box(t)
	sealed := b.Seal("maria", []byte("rt-secret"))
	if strings.Contains(sealed, "rt-secret") {
		t.Fatal("sealed text shows the secret")
	}
	if got, err := b.Open("maria", sealed); err != nil || string(got) != "rt-secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open("luca", sealed); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("another sender opened it: %v", err)
	}
	other, _ := NewBox(testKey + "x")
	if _, err := other.Open("maria", sealed); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("another key opened it: %v", err)
	}
}

func TestRefreshBeforeExpiryRotationAndRevocation(t *testing.T) {
	srv := authServer(t, oauthtest.Options{})
	url := testrig.SQLiteURL(t)
	st := grants(testrig.Open(t, url))
	b := box(t)
	ctx := context.Background()
	clock := testrig.NewClock(time.Now())
	var logs bytes.Buffer
	var states []bool
	src := &Source{Sender: "maria", Config: clientConfig(srv), Store: st, Box: b, Now: clock.Now,
		Log: testLogger(&logs), OnReauth: func(on bool) { states = append(states, on) }}

	_, err := src.AccessToken(ctx)
	if !errors.Is(err, mailer.ErrReauthNeeded) || !strings.Contains(err.Error(), "drip mailbox connect maria") {
		t.Fatalf("never connected: %v", err)
	}
	connect(t, st, b, srv, "maria")
	first, err := src.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := src.AccessToken(ctx); again != first {
		t.Fatal("a fresh token was refreshed")
	}
	// 59 minutes on: less than Early left, so it is refreshed and the
	// rotated refresh token is what the store holds.
	clock.Add(59 * time.Minute)
	second, err := src.AccessToken(ctx)
	if err != nil || second == first {
		t.Fatalf("after 59m: %v (same token: %v)", err, second == first)
	}
	if live := srv.LiveRefreshTokens(); len(live) != 1 || storedRefresh(t, st, b, "maria") != live[0] {
		t.Fatal("the store does not hold the rotated refresh token")
	}

	// Revoked at the provider: the next refresh says invalid_grant.
	srv.Revoke("drip")
	src.Invalidate(second)
	_, revErr := src.AccessToken(ctx)
	if !errors.Is(revErr, mailer.ErrReauthNeeded) {
		t.Fatalf("after revocation: %v", revErr)
	}
	if g, _ := st.GrantGet(ctx, "maria"); !g.Revoked {
		t.Fatal("the store does not show the grant revoked")
	}
	// Another instance learns it from the store, without spending anything.
	before, reusesBefore, _ := srv.Counts()
	other := &Source{Sender: "maria", Config: clientConfig(srv), Store: st, Box: b}
	if _, err := other.AccessToken(ctx); !errors.Is(err, mailer.ErrReauthNeeded) {
		t.Fatalf("second instance: %v", err)
	}
	if state, _ := State(ctx, st, b, "maria"); state != "reauth" {
		t.Fatalf("State = %q", state)
	}
	if after, reuses, _ := srv.Counts(); after != before || reuses != reusesBefore {
		t.Fatal("the second instance went to the token endpoint with a revoked grant")
	}

	// A new connect: the same Source works again, no restart.
	connect(t, st, b, srv, "maria")
	if _, err := src.AccessToken(ctx); err != nil {
		t.Fatalf("after a new connect: %v", err)
	}
	if !slices.Equal(states, []bool{true, false, true, false}) {
		t.Fatalf("reauth states %v", states)
	}
	if !strings.Contains(logs.String(), "run `drip mailbox connect maria`") {
		t.Fatalf("no log line says what to run:\n%s", logs.String())
	}

	// Nothing secret in the database file, the logs, or the errors.
	db, err := os.ReadFile(strings.TrimPrefix(url, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"-wal"} {
		wal, _ := os.ReadFile(strings.TrimPrefix(url, "sqlite:") + f)
		db = append(db, wal...)
	}
	for _, tok := range srv.Issued() {
		if bytes.Contains(db, []byte(tok)) {
			t.Errorf("token %s... readable in the database file", tok[:5])
		}
		if strings.Contains(logs.String(), tok) || strings.Contains(revErr.Error(), tok) {
			t.Errorf("token %s... in a log line or error", tok[:5])
		}
	}
	if bytes.Contains(db, []byte(testKey)) || strings.Contains(logs.String(), testKey) {
		t.Error("the key is in the database or the logs")
	}
}

// TestTwoInstancesRefreshConcurrently: two instances sharing PostgreSQL
// refresh the same grant 100 times each at once, against a server that
// rotates refresh tokens strictly. No refresh token is spent twice, the
// stored one is the one the server accepts, and both still get tokens.
func TestTwoInstancesRefreshConcurrently(t *testing.T) {
	srv := authServer(t, oauthtest.Options{})
	url := pgtest.NewDatabase(t)
	st1, st2 := grants(testrig.Open(t, url)), grants(testrig.Open(t, url))
	b := box(t)
	ctx := context.Background()
	connect(t, st1, b, srv, "maria")
	srcs := []*Source{
		{Sender: "maria", Config: clientConfig(srv), Store: st1, Box: b},
		{Sender: "maria", Config: clientConfig(srv), Store: st2, Box: b},
	}
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Go(func() {
			for range 100 {
				tok, err := src.AccessToken(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				src.Invalidate(tok) // as if the server had refused it: refresh next time
			}
		})
	}
	wg.Wait()
	refreshes, reuses, _ := srv.Counts()
	if reuses != 0 {
		t.Fatalf("%d spent refresh tokens presented again", reuses)
	}
	// 200 tokens were handed out and each was refused once; a token one
	// instance refreshed serves the other too when it has not refused it
	// yet, so each refresh serves at most two, and the connect's token
	// the first two: at least 99 refreshes, or a refused token was reused.
	if refreshes < 99 {
		t.Fatalf("only %d refreshes for 200 refused tokens", refreshes)
	}
	live := srv.LiveRefreshTokens()
	if len(live) != 1 || storedRefresh(t, st1, b, "maria") != live[0] {
		t.Fatalf("stored refresh token is not the one the server accepts (%d live)", len(live))
	}
	// What a dump of the table shows: no token.
	g, err := st1.GrantGet(ctx, "maria")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range srv.Issued() {
		if strings.Contains(g.Sealed, tok) {
			t.Fatal("a token is readable in the stored row")
		}
	}
	for i, src := range srcs {
		if _, err := src.AccessToken(ctx); err != nil {
			t.Fatalf("instance %d locked out: %v", i, err)
		}
	}
	t.Logf("%d refreshes by two instances, none lost", refreshes)
}
