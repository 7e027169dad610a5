package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer/oauth"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/storeopen"
)

// stdin is what `drip mailbox connect --manual` reads the pasted address
// from and `drip user` the passwords (tests swap it).
var stdin io.Reader = os.Stdin

// connectTimeout bounds a sign-in: long enough to find the phone.
const connectTimeout = 15 * time.Minute

func init() {
	register(&command{
		name: "mailbox",
		args: "connect NAME [--manual] | test NAME [--send-to ADDR]",
		summary: "connect: sign a sender's mailbox in with OAuth2 and store the grant, encrypted; " +
			"test: check the sender's SMTP and IMAP, one line per check",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			manual := fs.Bool("manual", false, "connect: no browser on this machine; paste the address the browser ends on")
			sendTo := fs.String("send-to", "", "test: also send a test message to `ADDR`")
			return func(ctx context.Context, args []string) error {
				if len(args) != 2 {
					return usagef("want connect NAME or test NAME")
				}
				cfg, err := loadConfig(g)
				if err != nil {
					return err
				}
				snd, ok := cfg.Sender(args[1])
				if !ok {
					return fmt.Errorf("no sender %q in %s", args[1], cfg.File)
				}
				switch args[0] {
				case "connect":
					if *sendTo != "" {
						return usagef("--send-to is for mailbox test")
					}
					return mailboxConnect(ctx, g, cfg, snd, *manual)
				case "test":
					if *manual {
						return usagef("--manual is for mailbox connect")
					}
					return mailboxTest(ctx, g, cfg, snd, *sendTo)
				}
				return usagef("unknown mailbox command %q (connect or test)", args[0])
			}
		},
	})
}

func mailboxConnect(ctx context.Context, g *globals, cfg *configs.Config, s *configs.Sender, manual bool) error {
	if !s.OAuth2Enabled() {
		return fmt.Errorf("sender %s signs in with a password (auth: %s); set auth: oauth2 to connect it", s.Name, s.Auth)
	}
	b, err := daemon.GrantBox(cfg)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conf := daemon.OAuthConfig(s)
	var tok *oauth2.Token
	switch {
	case manual:
		tok, err = oauth.ManualFlow(ctx, conf, g.stdout, stdin)
	case s.ConnectFlow() == "device":
		tok, err = oauth.DeviceFlow(ctx, conf, g.stdout)
	default:
		tok, err = oauth.BrowserFlow(ctx, conf, g.stdout)
	}
	if err != nil {
		return fmt.Errorf("signing in sender %s: %w", s.Name, err)
	}
	if err := oauth.Save(ctx, daemon.Grants(st), b, s.Name, tok, time.Now()); err != nil {
		return fmt.Errorf("storing the grant of sender %s: %w", s.Name, err)
	}
	// A sender held for re-authorisation sends again at once: its hold
	// ends, and its waiting steps are decided again now.
	ctl := &sequencer.Control{Store: st, Clock: sequencer.SystemClock{}, Config: cfg}
	if _, err := ctl.SenderResumeFrom(ctx, s.Name, store.HoldReauth); err != nil {
		return fmt.Errorf("ending the re-authorisation hold of sender %s: %w", s.Name, err)
	}
	fmt.Fprintf(g.stdout, "connected: sender %s (%s); the grant is stored encrypted, and running instances use it from their next send\n", s.Name, s.Login())
	return nil
}

// grantWarnings says which OAuth2 senders must be connected (again), when
// the store exists: `drip check` shows them without failing.
func grantWarnings(ctx context.Context, cfg *configs.Config) []string {
	var any bool
	for i := range cfg.Senders {
		any = any || cfg.Senders[i].OAuth2Enabled()
	}
	if !any {
		return nil
	}
	if path, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	b, err := daemon.GrantBox(cfg)
	if err != nil {
		return nil // reported as a problem already
	}
	st, _, _, err := storeopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil
	}
	defer st.Close()
	var ws []string
	for i := range cfg.Senders {
		s := &cfg.Senders[i]
		if !s.OAuth2Enabled() {
			continue
		}
		state, err := oauth.State(ctx, daemon.Grants(st), b, s.Name)
		if err != nil {
			continue // no schema yet
		}
		switch state {
		case "not connected":
			ws = append(ws, fmt.Sprintf("sender %s is not connected yet: run `drip mailbox connect %s`", s.Name, s.Name))
		case "reauth":
			ws = append(ws, fmt.Sprintf("sender %s needs re-authorisation (its grant was revoked, expired or sealed with another key): run `drip mailbox connect %s`", s.Name, s.Name))
		}
	}
	return ws
}
