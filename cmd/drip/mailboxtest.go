package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/drip-email/drip/cmd/internal/daemon"
	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/mailer"
	"github.com/drip-email/drip/mailer/probe"
	"github.com/drip-email/drip/store"
)

// mailboxTest prints one line per check of the sender's SMTP and IMAP and
// fails when any check failed.
func mailboxTest(ctx context.Context, g *globals, cfg *configs.Config, s *configs.Sender, sendTo string) error {
	log, err := newLogger(g)
	if err != nil {
		return err
	}
	var token mailer.TokenSource
	if s.OAuth2Enabled() {
		st, err := openStore(ctx, g, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		ts, err := daemon.TokenSource(cfg, s, store.Store(st), log, nil)
		if err != nil {
			return err
		}
		token = ts
	}
	keys := probe.Keys{SMTP: "smtp", IMAP: "imap", Sender: s.Name,
		PasswordEnv: configs.EnvPrefix + "SENDERS_" + configs.EnvName(s.Name) + "_SMTP_PASSWORD"}
	timeout := cfg.Engine.SMTPTimeout.Approx()
	fmt.Fprintf(g.stdout, "sender %s (%s, provider %s, auth %s)\n", s.Name, s.Address().Address, s.Provider, s.Auth)

	roots, err := mailer.LoadCAFile(s.SMTP.CAFile)
	if err != nil {
		return fmt.Errorf("smtp.%w", err)
	}
	sc := probe.SMTP{SMTPConfig: mailer.SMTPConfig{Host: s.SMTP.Host, Port: s.SMTP.Port, TLS: s.SMTP.TLS,
		Username: s.SMTP.Username, Password: s.SMTP.Password, Token: token,
		InsecureSkipVerify: s.SMTP.InsecureSkipVerify, RootCAs: roots, Timeout: timeout}}
	if sendTo != "" {
		sc.SendTo, sc.From = sendTo, s.Address().Address
		sc.Message = testMessage(s, sendTo)
	}
	checks := probe.RunSMTP(ctx, sc, keys)
	if m := s.IMAP; m != nil {
		roots, err := mailer.LoadCAFile(m.CAFile)
		if err != nil {
			return fmt.Errorf("imap.%w", err)
		}
		checks = append(checks, probe.RunIMAP(ctx, probe.IMAP{Host: m.Host, Port: m.Port, TLS: m.TLS,
			Username: m.Username, Password: m.Password, Token: token, Mailbox: m.Mailbox,
			RootCAs: roots, InsecureSkipVerify: m.InsecureSkipVerify, SaveSent: s.SaveSentFolder(), Timeout: timeout}, keys)...)
	} else {
		checks = append(checks, probe.Check{Name: "imap", Verdict: probe.Skip, Detail: "no imap block: replies are not watched"})
	}
	for _, c := range checks {
		fmt.Fprintln(g.stdout, c)
	}
	if n := probe.Failed(checks); n > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d check(s) failed", n)}
	}
	fmt.Fprintln(g.stdout, "all checks passed")
	return nil
}

func testMessage(s *configs.Sender, to string) []byte {
	host := "drip.invalid"
	if a := s.Address().Address; a != "" {
		for i := len(a) - 1; i >= 0; i-- {
			if a[i] == '@' {
				host = a[i+1:]
				break
			}
		}
	}
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: drip mailbox test\r\nDate: %s\r\nMessage-Id: <%s@%s>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nA test message from `drip mailbox test %s`: this mailbox can send.\r\n",
		s.From, to, time.Now().Format(time.RFC1123Z), rand.Text(), host, s.Name))
}
