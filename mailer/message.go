// Package mailer builds outbound messages and delivers them over SMTP.
// Inbound watching and classification live in mailer/inbound.
package mailer

import "time"

// Message is one outbound email before it is serialised.
type Message struct {
	FromName  string
	FromEmail string
	ToName    string
	ToEmail   string
	Subject   string
	Text      string
	HTML      string // "" = text only; otherwise multipart/alternative
	MessageID string // "<...@...>", recorded before sending
	Date      time.Time
	// Threading: InReplyTo is the previous message of the thread; References
	// the thread root first and the previous message last.
	InReplyTo  string
	References []string
	// UnsubscribeURL goes into List-Unsubscribe (with List-Unsubscribe-Post
	// One-Click, RFC 8058). UnsubscribeMailto, when set, is offered too.
	UnsubscribeURL    string
	UnsubscribeMailto string
}
