package mailer

import "strings"

// Provider limits: replies by which a provider says that the rep's mailbox
// sends too much, or may not send for now. They are the mailbox's state,
// never the prospect's, at whatever stage they come (a quota reply at RCPT
// is no unknown user, one after DATA no refused message): the sender is
// held and no enrollment fails or bounces.
//
// Each entry matches a reply code (0: any), an enhanced status code prefix
// ("" : any) and a lower-case fragment of the text ("" : any). The first
// match wins, so the specific entries come before the generic ones.
type providerLimit struct {
	code     int
	enhanced string
	text     string
	kind     FailKind
	what     string // shown in logs and status
}

var providerLimits = []providerLimit{
	// Google, "SMTP error reference", support.google.com/a/answer/3726730,
	// and "Gmail sending limits in Google Workspace",
	// support.google.com/a/answer/166852. At MAIL, RCPT or after DATA.
	{550, "5.4.5", "daily user sending", SenderQuota, "Gmail daily sending limit"},
	{550, "5.4.5", "daily smtp relay limit", SenderQuota, "Gmail daily SMTP relay limit"},
	{550, "5.7.1", "daily smtp relay limit", SenderQuota, "Gmail daily SMTP relay limit"},
	{0, "5.4.5", "", SenderQuota, "daily sending limit"},
	// 421-4.7.28 "… unusual rate of unsolicited mail … temporarily rate
	// limited", 421 4.7.0 "Try again later, closing connection." (both at
	// any command), 454 4.7.0 "Too many login attempts" (at AUTH).
	{0, "4.7.28", "", SenderThrottled, "Gmail rate limit (unusual rate of mail)"},
	{0, "4.7.0", "unusual rate", SenderThrottled, "Gmail rate limit (unusual rate of mail)"},
	{0, "4.7.0", "too many login attempts", SenderThrottled, "too many logins"},
	{421, "4.7.0", "try again later", SenderThrottled, "provider asks to try later (rate limit)"},

	// Microsoft 365, "Exchange Online limits" (learn.microsoft.com/office365/
	// servicedescriptions/exchange-online-service-description/exchange-
	// online-limits) and "Message storage and concurrent connection
	// throttling for SMTP Authenticated Submission" (learn.microsoft.com/
	// exchange/troubleshoot/send-emails/smtp-submission-improvements):
	// 10,000 recipients a day, 30 messages a minute, 3 connections.
	// After DATA, once the day's recipient rate limit is used up:
	{554, "5.2.0", "submissionquotaexceeded", SenderQuota, "Microsoft 365 daily recipient limit"},
	{0, "", "submissionquotaexceeded", SenderQuota, "Microsoft 365 daily recipient limit"},
	// The sender's own mailbox is full (Sent Items count): "554 5.2.2
	// mailbox full; STOREDRV.Submission.Exception:QuotaExceededException…".
	// Someone must make room; nothing waits it out.
	{0, "5.2.2", "storedrv.submission", SenderFault, "Microsoft 365 sender's mailbox is full (Sent Items)"},
	// At connect or AUTH, a fourth connection; "sender thread limit".
	{0, "4.3.2", "concurrent connection", SenderThrottled, "Microsoft 365 connection limit (3 per mailbox)"},
	{0, "4.3.2", "sender thread limit", SenderThrottled, "Microsoft 365 sender thread limit"},
	{0, "4.3.2", "throttl", SenderThrottled, "Microsoft 365 sender throttled"},
	// "Continuous error throttling for SMTP AUTH submissions"
	// (learn.microsoft.com/Exchange/mail-flow-best-practices/continuous-
	// error-throttling-smtp-auth-submissions): 550 5.2.251 … 5.2.255
	// "Sender throttled due to continuous … errors", for a while.
	{0, "5.2.25", "sender throttled", SenderThrottled, "Microsoft 365 sender throttled"},
	// "Fix NDR error 5.1.8" and "5.7.501, 5.7.502, 5.7.503" (learn.microsoft.
	// com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-
	// online/): the account is restricted for sending spam. A person must
	// act (the admin center's Restricted entities): nothing waits it out.
	{0, "5.1.8", "bad outbound sender", SenderBlocked, "Microsoft 365 blocked the sender (bad outbound sender)"},
	{0, "5.7.501", "", SenderBlocked, "Microsoft 365 blocked the sender (spam abuse)"},
	{0, "5.7.502", "", SenderBlocked, "Microsoft 365 blocked the sender (spam abuse)"},
	{0, "5.7.503", "", SenderBlocked, "Microsoft 365 blocked the sender (spam abuse)"},
	// Outlook.com's high-volume sender rules (May 2025, techcommunity.
	// microsoft.com "Strengthening Email Ecosystem: Outlook's New
	// Requirements for High-Volume Senders"): 550 5.7.515 "Access denied,
	// sending domain … does not meet the required authentication level".
	// The sender's DNS is at fault (drip check --dns), not the prospect.
	{0, "5.7.515", "", SenderFault, "sending domain fails Outlook.com's authentication requirements"},
	// Exchange Server's receive connector: "421 4.4.2 Message submission
	// rate for this client has exceeded the configured limit".
	{0, "4.4.2", "submission rate", SenderThrottled, "Exchange submission rate limit"},

	// Yahoo and AOL, "SMTP error codes" (senders.yahooinc.com/smtp-error-
	// codes): [TSS04] "temporarily deferred due to unexpected volume or user
	// complaints"; [TSS09] "All messages from … will be permanently
	// deferred".
	{0, "", "[tss04]", SenderThrottled, "Yahoo deferred for volume or complaints"},
	{0, "", "[tss09]", SenderBlocked, "Yahoo blocks the sending address"},

	// Postfix's anvil and policy services, Zoho, OVH, Aruba and others word
	// it in plain English; a 4xx is retried later, a 5xx holds the mailbox
	// for the day, as the providers mean by it.
	{0, "", "sending limit", SenderQuota, "sending limit"},
	{0, "", "sending quota", SenderQuota, "sending quota"},
	{0, "", "quota exceeded", SenderQuota, "sending quota"},
	{0, "", "rate limit", SenderThrottled, "rate limit"},
	{0, "", "too many messages", SenderThrottled, "too many messages"},
	{0, "", "too many connections", SenderThrottled, "too many connections"},
	{0, "", "throttl", SenderThrottled, "throttled"},
	{0, "", "unusual sending activity", SenderThrottled, "unusual sending activity"},
}

// matchLimit finds the provider-limit entry for a reply. A recipient's full
// mailbox (5.2.2, "quota exceeded" about the prospect's inbox) is the
// prospect's: the plain-English entries leave it alone.
func matchLimit(code int, enhanced, msg string) (providerLimit, bool) {
	text := strings.ToLower(msg)
	recipientFull := strings.HasPrefix(enhanced, "5.2.2") || strings.HasPrefix(enhanced, "4.2.2") ||
		strings.Contains(text, "mailbox full") || strings.Contains(text, "mailbox is full")
	for _, l := range providerLimits {
		if l.code != 0 && l.code != code {
			continue
		}
		if l.enhanced != "" && !strings.HasPrefix(enhanced, l.enhanced) {
			continue
		}
		if l.enhanced == "" && recipientFull {
			continue
		}
		if l.text != "" && !strings.Contains(text, l.text) {
			continue
		}
		return l, true
	}
	return providerLimit{}, false
}
