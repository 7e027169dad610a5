package mailer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"

	"github.com/drip-email/drip/mailer/smtptest"
)

func TestXOAuth2InitialResponse(t *testing.T) {
	mech, ir, err := NewXOAuth2Client("maria@example.com", "ya29.tok").Start()
	if err != nil || mech != "XOAUTH2" {
		t.Fatalf("Start = %q, %v", mech, err)
	}
	if want := "user=maria@example.com\x01auth=Bearer ya29.tok\x01\x01"; string(ir) != want {
		t.Fatalf("initial response %q, want %q", ir, want)
	}
}

// tokens is a TokenSource handing out a fixed token, or an error.
type tokens struct {
	mu          sync.Mutex
	token       string
	err         error
	invalidated []string
}

func (s *tokens) AccessToken(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, s.err
}

func (s *tokens) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok)
}

func TestPoolOAuth(t *testing.T) {
	for _, mechs := range [][]string{{"XOAUTH2"}, {sasl.OAuthBearer}, {sasl.OAuthBearer, "XOAUTH2", sasl.Plain}} {
		t.Run(fmt.Sprint(mechs), func(t *testing.T) {
			srv := smtptest.New(t, smtptest.Options{Users: map[string]string{sender: "good-token"}, AuthMechanisms: mechs})
			cfg := testConfig(srv)
			cfg.Username = sender
			ts := &tokens{token: "good-token"}
			cfg.Token = ts
			p := newTestPool(t, cfg, 1)
			mustSend(t, p, "luca@example.org")
			if got := srv.Messages()[0].AuthUser; got != sender {
				t.Fatalf("authenticated as %q", got)
			}
		})
	}

	t.Run("refused token is dropped", func(t *testing.T) {
		srv := smtptest.New(t, smtptest.Options{Users: map[string]string{sender: "good-token"}, AuthMechanisms: []string{"XOAUTH2"}})
		cfg := testConfig(srv)
		cfg.Username = sender
		ts := &tokens{token: "stale-token"}
		cfg.Token = ts
		p := newTestPool(t, cfg, 1)
		se := sendErr(t, p.Send(context.Background(), sender, "luca@example.org", testMessage(t, "luca@example.org", 100)))
		if se.Kind != SenderFault || se.Stage != StageAuth || se.Code != 535 {
			t.Fatalf("got %+v, want a 535 sender fault at auth", se)
		}
		if len(ts.invalidated) == 0 || ts.invalidated[0] != "stale-token" {
			t.Fatalf("invalidated %q, want the refused token", ts.invalidated)
		}
	})

	t.Run("revoked grant", func(t *testing.T) {
		srv := smtptest.New(t, smtptest.Options{Users: map[string]string{sender: "good-token"}, AuthMechanisms: []string{"XOAUTH2"}})
		cfg := testConfig(srv)
		cfg.Username = sender
		cfg.Token = &tokens{err: fmt.Errorf("refreshing: %w", ErrReauthNeeded)}
		p := newTestPool(t, cfg, 1)
		err := p.Send(context.Background(), sender, "luca@example.org", testMessage(t, "luca@example.org", 100))
		se := sendErr(t, err)
		if se.Kind != SenderFault || se.Stage != StageAuth || !errors.Is(err, ErrReauthNeeded) {
			t.Fatalf("got %+v, want a sender fault at auth wrapping ErrReauthNeeded", se)
		}
		if srv.Total() != 0 {
			t.Fatal("a message went out")
		}
	})
}
