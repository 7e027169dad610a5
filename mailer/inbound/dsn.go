package inbound

import (
	"fmt"
	"regexp"
	"strings"
)

// Recipient is one recipient a delivery status notification reports as
// failed or delayed. One notification may mix both.
type Recipient struct {
	Address string // lower-cased
	Kind    Kind   // Bounce or Delayed
	Status  string // enhanced status code ("5.1.1"), "" when the report gives none
	Action  string // DSN Action ("failed", "delayed"), "" when not a structured report
}

// daemonLocalParts are the senders of delivery reports.
var daemonLocalParts = map[string]bool{
	"mailer-daemon": true, "mailer_daemon": true, "mailerdaemon": true, "mail-daemon": true,
	"maildaemon": true, "mdaemon": true, "postmaster": true,
}

// daemonNames appear in the From of delivery reports whose address says less.
var daemonNames = []string{"mail delivery system", "mail delivery subsystem", "mail delivery service", "mailer-daemon", "mailer daemon"}

// bounceSubjects are the subjects MTAs give their reports (folded).
var bounceSubjects = []string{
	"undelivered mail", "undeliverable", "undelivered", "delivery status notification", "mail delivery failed",
	"failure notice", "returned mail", "delivery has failed", "delivery failure", "delivery failed",
	"mail delivery failure", "delayed mail", "delivery delayed", "delivery status", "nondeliverable",
	"non-deliverable", "mail failure", "message not delivered", "returned to sender", "warning: message",
	"could not be delivered", "unzustellbar", "non recapitabile", "mancato recapito", "niedostarczon",
	"niedoreczon", "non remis", "notification d'etat de remise",
}

// Subject words that settle permanence when the report has no status code.
var (
	delaySubjectWords = []string{"delay", "warning", "verzogert", "retard", "ritard", "opozn"}
	failSubjectWords  = []string{"fail", "undeliver", "undelivered", "returned", "not delivered", "rejected",
		"unzustellbar", "non recapitabil", "mancato recapito", "non remis", "niedostarcz", "niedorecz"}
)

// Wording of the notice text (folded), for reports with no status code.
var (
	temporaryPhrases = []string{
		"warning only", "this is a warning", "will be retried", "will retry", "will continue to attempt",
		"will continue trying", "still being retried", "not yet been delivered", "has been delayed",
		"delivery delayed", "delayed for", "is delayed", "temporary failure", "temporarily", "temporary problem",
		"no need to resend", "do not need to resend", "don't need to resend", "no action is required",
		"only a temporary", "delivery attempts will continue", "try again later",
	}
	permanentPhrases = []string{
		"permanent", "does not exist", "doesn't exist", "user unknown", "unknown user", "unknown recipient",
		"no such user", "no such recipient", "no such mailbox", "mailbox unavailable", "mailbox not found",
		"address rejected", "recipient rejected", "not a valid user", "not a known user", "invalid recipient",
		"invalid address", "address not found", "recipient not found", "is not recognized",
		"could not be delivered", "couldn't be delivered", "was not delivered", "wasn't delivered",
		"undeliverable", "delivery failed", "delivery has failed", "given up", "retry timeout exceeded",
		"unable to deliver", "unrouteable", "account disabled", "has been disabled", "mailbox disabled",
		"n'existe pas", "nie istnieje", "non esiste", "existiert nicht", "unbekannt", "inesistente",
		"sconosciuto", "no existe", "desconocido",
	}
)

// returnedMarkers open the copy of the original message in a plain-text
// bounce; on a "----"/"===="/"****" banner line the banner must contain one
// of markerWords, other lines need one of markerPhrases.
var (
	markerWords = []string{
		"original message", "copy of the message", "message header", "header of the original",
		"headers of the original", "returned message", "undelivered message", "message body",
		"below this line", "original mail", "rfc822",
	}
	markerPhrases = []string{
		"original message follows", "copy of the original message", "copy of the message",
		"below this line", "header of the original message", "headers of your message",
	}
)

var (
	enhancedCodeRE = regexp.MustCompile(`[245]\.[0-7]\.[0-9]{1,3}`)
	smtpCodeRE     = regexp.MustCompile(`(?m)(?:^|[\s(:<\[;"'#])([45][0-5][0-9])(?:[ -]|$)`)
	textMsgIDRE    = regexp.MustCompile(`(?im)^[ \t]*(?:x-)?(?:original-)?message-id:[ \t]*(.*)$`)
	dsnFieldRE     = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*)[ \t]*:(.*)$`)
	excludedLineRE = regexp.MustCompile(`(?i)^(?:from|sender|reply-to|return-path|errors-to|message-id|in-reply-to|references|received|x-[a-z0-9-]+|dkim-signature|authentication-results|resent-[a-z-]+|delivered-to|list-[a-z-]+|arc-[a-z-]+|envelope-to|reporting-mta|received-from-mta|remote-mta)[ \t]*:`)
)

// verdict is the message-level judgement of a report: what recipients
// without their own status get.
type verdict struct {
	kind   Kind
	status string // enhanced code, when the text had one
	basis  string // what decided, for Detail
}

// classifyBounce returns the Result of a delivery status notification, or
// false when m is not one.
func classifyBounce(m *Message, own map[string]bool) (Result, bool) {
	structured := m.reportType == "delivery-status" || len(m.deliveryStatus) > 0
	xFailed := m.Header.Get("X-Failed-Recipients")
	strong := structured || xFailed != "" || daemonSender(m) || isBounceSubject(m.Subject)
	// A null sender (From "<>" or no address) is a bounce only if its text
	// reads like one; an out-of-office subject says otherwise.
	maybe := m.From == "" && autoReplySubject(m.Subject) == ""
	if !strong && !maybe {
		return Result{}, false
	}
	notice, full := bounceNotice(m)
	if !strong {
		folded := fold(notice)
		if countPhrases(folded, permanentPhrases) == 0 && countPhrases(folded, temporaryPhrases) == 0 {
			return Result{}, false
		}
	}

	v := messageVerdict(m.Subject, notice)
	var groups []dsnGroup
	for _, ds := range m.deliveryStatus {
		groups = append(groups, parseDSNGroups(ds)...)
	}
	if !hasRecipientGroup(groups) {
		// A report quoted or pasted as text (a forwarded bounce).
		groups = parseDSNGroups(full)
	}

	var recips []Recipient
	seen := map[string]bool{}
	add := func(r Recipient) {
		if r.Address == "" || own[r.Address] || seen[r.Address] || len(recips) >= maxRecipients {
			return
		}
		seen[r.Address] = true
		recips = append(recips, r)
	}
	for _, g := range groups {
		for _, r := range g.recipients(v) {
			add(r)
		}
	}
	for _, a := range findAddresses(xFailed) {
		add(Recipient{Address: a, Kind: v.kind, Status: v.status})
	}
	if len(recips) == 0 {
		for _, a := range textRecipients(notice, bounceExcluded(m, own)) {
			add(Recipient{Address: a, Kind: v.kind, Status: v.status})
		}
	}

	res := Result{Kind: v.kind, Status: v.status, Recipients: recips, Structured: structured}
	if len(recips) > 0 {
		res.Kind = Delayed
		for _, r := range recips {
			if r.Kind == Bounce {
				res.Kind = Bounce
				break
			}
		}
		res.Status = ""
		for _, r := range recips {
			if r.Kind == res.Kind && r.Status != "" {
				res.Status = r.Status
				break
			}
		}
		if res.Status == "" && res.Kind == v.kind {
			res.Status = v.status
		}
	}
	for _, r := range recips {
		res.Addresses = append(res.Addresses, r.Address)
	}
	res.MessageIDs = returnedIDs(m, full)
	res.Detail = bounceDetail(res, v)
	return res, true
}

// bounceNotice is the human-readable part of a report: its own text with
// quoting removed (full), and the same cut where the copy of the original
// message begins (notice), so addresses and codes of the original do not
// count as the report's.
func bounceNotice(m *Message) (notice, full string) {
	text := m.plain
	if strings.TrimSpace(text) == "" {
		text = htmlToText(m.html)
	}
	full = unquote(strings.ReplaceAll(text, "\r\n", "\n"))
	return cutAtReturned(full), full
}

func cutAtReturned(s string) string {
	offset := 0
	for _, line := range strings.SplitAfter(s, "\n") {
		t := fold(strings.TrimSpace(line))
		banner := strings.HasPrefix(t, "--") || strings.HasPrefix(t, "==") || strings.HasPrefix(t, "**")
		if banner && containsAny(t, markerWords) != "" || containsAny(t, markerPhrases) != "" {
			return s[:offset]
		}
		offset += len(line)
	}
	return s
}

func daemonSender(m *Message) bool {
	if local, _, ok := strings.Cut(m.From, "@"); ok && daemonLocalParts[local] {
		return true
	}
	from := fold(headerText(m.Header.Header, "From"))
	return containsAny(from, daemonNames) != ""
}

func isBounceSubject(subject string) bool {
	return containsAny(fold(subject), bounceSubjects) != ""
}

func countPhrases(s string, phrases []string) int {
	n := 0
	for _, p := range phrases {
		if strings.Contains(s, p) {
			n++
		}
	}
	return n
}

// messageVerdict judges permanence from the notice and the subject, strongest
// evidence first (see the package comment).
func messageVerdict(subject, notice string) verdict {
	codes := enhancedCodes(notice)
	for _, c := range codes {
		if c[0] == '5' {
			return verdict{kind: Bounce, status: c, basis: "status in text"}
		}
	}
	for _, c := range codes {
		if c[0] == '4' {
			return verdict{kind: Delayed, status: c, basis: "status in text"}
		}
	}
	s := fold(subject)
	if containsAny(s, delaySubjectWords) != "" {
		return verdict{kind: Delayed, basis: "subject"}
	}
	if containsAny(s, failSubjectWords) != "" {
		return verdict{kind: Bounce, basis: "subject"}
	}
	text := fold(notice)
	temp, perm := countPhrases(text, temporaryPhrases), countPhrases(text, permanentPhrases)
	switch {
	case temp > perm:
		return verdict{kind: Delayed, basis: "wording"}
	case perm > 0:
		return verdict{kind: Bounce, basis: "wording"}
	}
	if k, code := smtpCodeKind(notice); k != "" {
		return verdict{kind: k, basis: "SMTP " + code}
	}
	return verdict{kind: Bounce, basis: "no status"}
}

// enhancedCodes finds RFC 3463 codes ("5.1.1") that stand alone, not inside
// a longer dotted number such as an IP address or a version.
func enhancedCodes(s string) []string {
	var out []string
	for _, loc := range enhancedCodeRE.FindAllStringIndex(s, 50) {
		i, j := loc[0], loc[1]
		if i > 0 && (isDigit(s[i-1]) || s[i-1] == '.') {
			continue
		}
		if j < len(s) && (isDigit(s[j]) || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1])) {
			continue
		}
		out = append(out, s[i:j])
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// smtpCodeKind looks for a bare SMTP reply code: the weakest evidence.
func smtpCodeKind(s string) (Kind, string) {
	var kind Kind
	var code string
	for _, m := range smtpCodeRE.FindAllStringSubmatch(s, 50) {
		if m[1][0] == '5' {
			return Bounce, m[1]
		}
		if kind == "" {
			kind, code = Delayed, m[1]
		}
	}
	return kind, code
}

// maxRecipients caps the recipients taken from one report.
const maxRecipients = 100

// maxDSNField caps a report field's value (Diagnostic-Code runs long).
const maxDSNField = 1000

// dsnGroup is one per-recipient block of a message/delivery-status body.
type dsnGroup struct {
	final, original, action, status, diagnostic string
}

func hasRecipientGroup(gs []dsnGroup) bool {
	for _, g := range gs {
		if g.final != "" || g.original != "" {
			return true
		}
	}
	return false
}

// parseDSNGroups reads RFC 3464 fields leniently: blocks are separated by
// blank lines, a line that is not a field continues the previous one
// (MTAs break Diagnostic-Code without indenting), and a second
// Final-Recipient in one block starts a new group.
func parseDSNGroups(s string) []dsnGroup {
	var groups []dsnGroup
	var g dsnGroup
	last := ""
	flush := func() {
		if g != (dsnGroup{}) {
			groups = append(groups, g)
		}
		g, last = dsnGroup{}, ""
	}
	// Values are capped: a text parsed as a report may run on for pages.
	appendTo := func(name, v string) {
		var f *string
		switch name {
		case "final-recipient":
			f = &g.final
		case "original-recipient":
			f = &g.original
		case "action":
			f = &g.action
		case "status":
			f = &g.status
		case "diagnostic-code":
			f = &g.diagnostic
		default:
			return
		}
		if len(*f) < maxDSNField {
			*f += " " + v
		}
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		fm := dsnFieldRE.FindStringSubmatch(line)
		if fm == nil || line[0] == ' ' || line[0] == '\t' {
			appendTo(last, strings.TrimSpace(line))
			continue
		}
		name, v := strings.ToLower(fm[1]), strings.TrimSpace(fm[2])
		if name == "final-recipient" && g.final != "" || name == "original-recipient" && g.original != "" {
			flush()
		}
		last = name
		appendTo(name, v)
		if len(groups) > maxParts {
			break
		}
	}
	flush()
	return groups
}

// recipients turns a group into Recipient entries (its Final- and
// Original-Recipient, which may differ); groups that report success give none.
func (g dsnGroup) recipients(fallback verdict) []Recipient {
	action := strings.ToLower(firstToken(strings.TrimSpace(g.action)))
	switch action {
	case "delivered", "relayed", "expanded":
		return nil
	}
	status := ""
	if codes := enhancedCodes(g.status); len(codes) > 0 {
		status = codes[0]
	} else if codes := enhancedCodes(g.diagnostic); len(codes) > 0 {
		status = codes[0]
	}
	var kind Kind
	switch {
	case strings.HasPrefix(status, "5"):
		kind = Bounce
	case strings.HasPrefix(status, "4"):
		kind = Delayed
	case action == "failed":
		kind = Bounce
	case action == "delayed":
		kind = Delayed
	default:
		if k, _ := smtpCodeKind(g.diagnostic); k != "" {
			kind = k
		} else {
			kind = fallback.kind
			if status == "" {
				status = fallback.status
			}
		}
	}
	var out []Recipient
	for _, v := range []string{g.final, g.original} {
		if a := dsnAddress(v); a != "" {
			out = append(out, Recipient{Address: a, Kind: kind, Status: status, Action: action})
		}
	}
	return out
}

// dsnAddress reads "rfc822; user@host" (or a bare "<user@host>").
func dsnAddress(v string) string {
	v = strings.TrimSpace(v)
	if _, after, ok := strings.Cut(v, ";"); ok {
		v = after
	}
	if as := findAddresses(v); len(as) > 0 {
		return as[0]
	}
	return ""
}

// bounceExcluded lists addresses a notice mentions that are not failed
// recipients: ours, the report's own sender and recipient, and the sender of
// the returned message.
func bounceExcluded(m *Message, own map[string]bool) map[string]bool {
	ex := map[string]bool{}
	for a := range own {
		ex[a] = true
	}
	for _, k := range []string{"From", "To", "Cc", "Sender", "Reply-To", "Return-Path", "Delivered-To", "X-Original-To", "Envelope-To"} {
		for _, a := range findAddresses(m.Header.Get(k)) {
			ex[a] = true
		}
	}
	for _, h := range m.returned {
		for _, k := range []string{"From", "Sender", "Reply-To", "Return-Path"} {
			for _, a := range findAddresses(h.Get(k)) {
				ex[a] = true
			}
		}
	}
	return ex
}

// textRecipients is the last resort for bounces that name their failed
// recipients only in prose: every address in the notice, except excluded
// ones, daemon addresses, addresses inside URLs and addresses on header-like
// lines (the copy of the original that some MTAs paste without a banner).
func textRecipients(notice string, excluded map[string]bool) []string {
	var out []string
	for _, line := range strings.Split(notice, "\n") {
		t := strings.TrimSpace(line)
		if excludedLineRE.MatchString(t) {
			continue
		}
		lt := strings.ToLower(t)
		if strings.Contains(lt, "mail from") || strings.Contains(lt, "envelope-from") || strings.Contains(lt, "mailfrom") {
			continue
		}
		for _, loc := range addressRE.FindAllStringIndex(t, 20) {
			if inURL(t, loc[0]) {
				continue
			}
			a := cleanAddress(t[loc[0]:loc[1]])
			local, _, _ := strings.Cut(a, "@")
			if a == "" || excluded[a] || daemonLocalParts[local] {
				continue
			}
			out = appendUnique(out, a)
			if len(out) >= 50 {
				return out
			}
		}
	}
	return out
}

// inURL reports whether the text at i belongs to a URL token.
func inURL(line string, i int) bool {
	start := strings.LastIndexAny(line[:i], " \t<>\"'(") + 1
	tok := strings.ToLower(line[start:i])
	return strings.Contains(tok, "://") || strings.HasPrefix(tok, "www.") || strings.HasSuffix(tok, "/")
}

// returnedIDs lists the Message-IDs that identify the message that bounced:
// the returned copy's own Message-ID first (it is one of our sends), then
// its In-Reply-To and References (latest first), Message-ID lines found in
// the text, and last the report's own In-Reply-To/References.
func returnedIDs(m *Message, text string) []string {
	ids := newIDList(m.MessageID)
	for _, h := range m.returned {
		ids.add(MessageIDs(h.Get("Message-Id"))...)
	}
	for _, h := range m.returned {
		ids.add(MessageIDs(h.Get("In-Reply-To"))...)
		ids.add(reversed(MessageIDs(h.Get("References")))...)
	}
	for _, s := range append([]string{text}, m.deliveryStatus...) {
		lines := strings.Split(s, "\n")
		for _, loc := range textMsgIDRE.FindAllStringSubmatchIndex(s, 20) {
			v := strings.TrimSpace(s[loc[2]:loc[3]])
			if v == "" {
				// Folded: the id is on the next line.
				if lineNo := strings.Count(s[:loc[0]], "\n"); lineNo+1 < len(lines) {
					v = lines[lineNo+1]
				}
			}
			if found := MessageIDs(v); len(found) > 0 {
				ids.add(found[0])
			}
		}
	}
	ids.add(m.InReplyTo...)
	ids.add(reversed(m.References)...)
	return ids.list
}

// bounceDetail is the short timeline text: status codes and their RFC 3463
// meaning, never text from the message (it may carry personal data).
func bounceDetail(res Result, v verdict) string {
	if len(res.Recipients) <= 1 {
		if res.Status != "" {
			return res.Status + " " + statusMeaning(res.Status)
		}
		if res.Kind == Delayed {
			return "delivery delayed (" + v.basis + ")"
		}
		return "permanent failure (" + v.basis + ")"
	}
	var parts []string
	seen := map[string]bool{}
	for _, r := range res.Recipients {
		p := "no status"
		if r.Status != "" {
			p = r.Status + " " + statusMeaning(r.Status)
		}
		if r.Kind == Delayed {
			p += " (delayed)"
		}
		if !seen[p] && len(parts) < 3 {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("%d recipients: %s", len(res.Recipients), strings.Join(parts, "; "))
}

// statusMeaning names an RFC 3463 code.
func statusMeaning(code string) string {
	_, rest, _ := strings.Cut(code, ".")
	if m, ok := statusDetails[rest]; ok {
		return m
	}
	subject, _, _ := strings.Cut(rest, ".")
	if m, ok := statusSubjects[subject]; ok {
		return m
	}
	return "other status"
}

var statusSubjects = map[string]string{
	"0": "other or undefined status",
	"1": "addressing status",
	"2": "mailbox status",
	"3": "mail system status",
	"4": "network or routing status",
	"5": "mail delivery protocol status",
	"6": "message content or media status",
	"7": "security or policy status",
}

var statusDetails = map[string]string{
	"0.0": "other undefined status",
	"1.0": "other address status", "1.1": "bad destination mailbox address",
	"1.2": "bad destination system address", "1.3": "bad destination mailbox address syntax",
	"1.4": "destination mailbox address ambiguous", "1.6": "destination mailbox has moved",
	"1.10": "recipient address has null MX",
	"2.0":  "other or undefined mailbox status", "2.1": "mailbox disabled", "2.2": "mailbox full",
	"2.3": "message length exceeds administrative limit", "2.4": "mailing list expansion problem",
	"3.0": "other or undefined mail system status", "3.1": "mail system full",
	"3.2": "system not accepting network messages", "3.4": "message too big for system",
	"4.0": "other or undefined network or routing status", "4.1": "no answer from host",
	"4.2": "bad connection", "4.3": "directory server failure", "4.4": "unable to route",
	"4.5": "mail system congestion", "4.6": "routing loop detected", "4.7": "delivery time expired",
	"5.0": "other or undefined protocol status",
	"7.0": "other or undefined security status", "7.1": "delivery not authorized, message refused",
}
