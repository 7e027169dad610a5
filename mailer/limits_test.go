package mailer

import (
	"context"
	"strings"
	"testing"

	"github.com/drip-email/drip/mailer/smtptest"
)

// limitReply is a provider's reply as it arrives on the wire. Enhanced
// {-1,-1,-1} writes Text as it is, one "CODE-" line per \n, for replies
// that repeat their enhanced code on every line as Gmail's do.
type limitReply struct {
	name     string
	stage    smtptest.Stage
	code     int
	enhanced [3]int
	text     string
	kind     FailKind
}

var noEnhanced = [3]int{-1, -1, -1}

// Real replies (see the sources in limits.go), each at the stage where its
// provider sends it. Delivered from go-smtp's server to the pool, each is
// the sender's, never the prospect's: no bounce, no failed enrollment.
var limitReplies = []limitReply{
	{"Gmail daily limit at MAIL", smtptest.AtMail, 550, [3]int{5, 4, 5}, "Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852", SenderQuota},
	{"Gmail daily limit at RCPT", smtptest.AtRcpt, 550, noEnhanced, "5.4.5 Daily user sending limit exceeded. For more information on Gmail\n5.4.5 sending limits go to https://support.google.com/a/answer/166852 - gsmtp", SenderQuota},
	{"Gmail daily limit after DATA", smtptest.AtDot, 550, [3]int{5, 4, 5}, "Daily user sending limit exceeded.", SenderQuota},
	{"Gmail relay limit after DATA", smtptest.AtDot, 550, [3]int{5, 4, 5}, "Daily SMTP relay limit exceeded for user. For more information on SMTP relay sending limits please contact your administrator", SenderQuota},
	{"Gmail unusual rate after DATA", smtptest.AtDot, 421, noEnhanced, "4.7.28 Our system has detected an unusual rate of unsolicited mail originating\n4.7.28 from your IP address. To protect our users from spam, mail sent from your\n4.7.28 IP address has been temporarily rate limited. - gsmtp", SenderThrottled},
	{"Gmail unusual rate at RCPT", smtptest.AtRcpt, 421, [3]int{4, 7, 28}, "Our system has detected an unusual rate of unsolicited mail. - gsmtp", SenderThrottled},
	{"Gmail try again later at connect", smtptest.AtConnect, 421, [3]int{4, 7, 0}, "Try again later, closing connection. (EHLO) - gsmtp", SenderThrottled},
	{"Gmail try again later at MAIL", smtptest.AtMail, 421, [3]int{4, 7, 0}, "Try again later, closing connection. (MAIL) - gsmtp", SenderThrottled},
	{"Gmail try again later at RCPT", smtptest.AtRcpt, 421, [3]int{4, 7, 0}, "Try again later, closing connection. - gsmtp", SenderThrottled},
	{"Gmail too many logins at AUTH", smtptest.AtAuth, 454, [3]int{4, 7, 0}, "Too many login attempts, please try again later. - gsmtp", SenderThrottled},
	{"Microsoft 365 daily quota after DATA", smtptest.AtDot, 554, [3]int{5, 2, 0}, "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message Cannot submit message.", SenderQuota},
	{"Microsoft 365 connection limit at connect", smtptest.AtConnect, 432, [3]int{4, 3, 2}, "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.", SenderThrottled},
	{"Microsoft 365 sender thread limit after DATA", smtptest.AtDot, 432, [3]int{4, 3, 2}, "STOREDRV.ClientSubmit; sender thread limit exceeded", SenderThrottled},
	{"Microsoft 365 continuous errors at MAIL", smtptest.AtMail, 550, [3]int{5, 2, 252}, "Sender throttled due to continuous send as denied errors.", SenderThrottled},
	{"Microsoft 365 continuous invalid recipients at RCPT", smtptest.AtRcpt, 550, [3]int{5, 2, 255}, "Sender throttled due to continuous invalid recipients errors.", SenderThrottled},
	{"Microsoft 365 bad outbound sender at MAIL", smtptest.AtMail, 550, [3]int{5, 1, 8}, "Access denied, bad outbound sender", SenderBlocked},
	{"Microsoft 365 spam abuse at RCPT", smtptest.AtRcpt, 550, [3]int{5, 7, 501}, "Access denied, spam abuse detected", SenderBlocked},
	{"Outlook.com authentication level at RCPT", smtptest.AtRcpt, 550, [3]int{5, 7, 515}, "Access denied, sending domain example.com does not meet the required authentication level.", SenderFault},
	{"Microsoft 365 sender's mailbox full after DATA", smtptest.AtDot, 554, [3]int{5, 2, 2}, "mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", SenderFault},
	{"Exchange submission rate at MAIL", smtptest.AtMail, 421, [3]int{4, 4, 2}, "Message submission rate for this client has exceeded the configured limit", SenderThrottled},
	{"Yahoo volume deferral at connect", smtptest.AtConnect, 421, [3]int{4, 7, 0}, "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1", SenderThrottled},
	{"Yahoo permanent deferral at connect", smtptest.AtConnect, 553, [3]int{5, 7, 2}, "[TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed.", SenderBlocked},
	{"Postfix policy rate limit at RCPT", smtptest.AtRcpt, 450, [3]int{4, 7, 1}, "<john@acme.example>: Recipient address rejected: Rate limit exceeded for maria@example.com", SenderThrottled},
	{"hourly sending quota at RCPT", smtptest.AtRcpt, 550, [3]int{5, 7, 1}, "Sending quota exceeded for this hour", SenderQuota},
}

var stageOf = map[smtptest.Stage]string{
	smtptest.AtConnect: StageConnect, smtptest.AtAuth: StageAuth, smtptest.AtMail: StageMail,
	smtptest.AtRcpt: StageRcpt, smtptest.AtDot: StageData,
}

func TestProviderLimitRepliesHoldTheSender(t *testing.T) {
	const to = "john@acme.example"
	users := map[string]string{"maria": "secret"}
	for _, tc := range limitReplies {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.New(t, smtptest.Options{Users: users})
			cfg := testConfig(srv)
			cfg.Username, cfg.Password = "maria", "secret"
			p := newTestPool(t, cfg, 1)
			srv.SetFault(smtptest.Fault{Stage: tc.stage, Code: tc.code, Enhanced: tc.enhanced, Text: tc.text})

			err := p.Send(context.Background(), sender, to, testMessage(t, to, 0))
			se := sendErr(t, err)
			if se.Kind != tc.kind || se.Stage != stageOf[tc.stage] || se.Code != tc.code {
				t.Errorf("got kind=%s stage=%s code=%d (%v); want kind=%s stage=%s code=%d",
					se.Kind, se.Stage, se.Code, err, tc.kind, stageOf[tc.stage], tc.code)
			}
			if !se.Kind.SenderHeld() || se.Kind == RecipientRejected || se.Kind == Permanent {
				t.Errorf("kind %s: a provider limit must hold the sender, not touch the prospect", se.Kind)
			}
			if se.Limit == "" || !strings.Contains(err.Error(), se.Limit) {
				t.Errorf("the error %q does not say which limit (%q)", err, se.Limit)
			}
			if srv.Count(to) != 0 {
				t.Errorf("the server kept %d messages", srv.Count(to))
			}

			// Once the provider accepts again, the step goes out.
			srv.SetFault()
			mustSend(t, p, to)
			if srv.Count(to) != 1 {
				t.Errorf("after the limit lifted the server has %d messages, want 1", srv.Count(to))
			}
		})
	}
}

// What looks like a limit but is the prospect's, or the network's, keeps
// its old meaning.
func TestNotProviderLimits(t *testing.T) {
	const to = "john@acme.example"
	for _, tc := range []limitReply{
		{"recipient's mailbox full at RCPT", smtptest.AtRcpt, 552, [3]int{5, 2, 2}, "Mailbox full: quota exceeded", RecipientRejected},
		{"unknown user at RCPT", smtptest.AtRcpt, 550, [3]int{5, 1, 1}, "The email account that you tried to reach does not exist. - gsmtp", RecipientRejected},
		{"recipient receiving too fast at RCPT", smtptest.AtRcpt, 450, [3]int{4, 2, 1}, "The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered. - gsmtp", Temporary},
		{"greylisted at RCPT", smtptest.AtRcpt, 451, [3]int{4, 7, 1}, "Greylisted, please try again later", Temporary},
		{"content rejected after DATA", smtptest.AtDot, 554, [3]int{5, 6, 0}, "Message content rejected", Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.New(t, smtptest.Options{})
			p := newTestPool(t, testConfig(srv), 1)
			srv.SetFault(smtptest.Fault{Stage: tc.stage, Code: tc.code, Enhanced: tc.enhanced, Text: tc.text})
			se := sendErr(t, p.Send(context.Background(), sender, to, testMessage(t, to, 0)))
			if se.Kind != tc.kind || se.Limit != "" {
				t.Errorf("got kind=%s limit=%q (%v), want %s and no limit", se.Kind, se.Limit, se, tc.kind)
			}
		})
	}
}

func TestNewKindsHaveNames(t *testing.T) {
	for k, want := range map[FailKind]string{SenderQuota: "sender_quota", SenderThrottled: "sender_throttled", SenderBlocked: "sender_blocked"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k, want)
		}
	}
	if Temporary.SenderHeld() || RecipientRejected.SenderHeld() || Permanent.SenderHeld() || Ambiguous.SenderHeld() {
		t.Error("a kind about the prospect or the message reports SenderHeld")
	}
}
