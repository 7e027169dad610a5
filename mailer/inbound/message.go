package inbound

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-2, windows-1252, ISO-2022-JP, ... bodies and headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Limits that keep Parse's work bounded whatever arrives.
const (
	maxDepth        = 8         // multipart nesting
	maxParts        = 256       // MIME parts visited
	maxPartText     = 256 << 10 // decoded bytes kept per text part
	maxText         = 1 << 20   // decoded bytes kept per kind of text (plain, html)
	maxHeaderFields = 1000      // per header block
	keyBodyPrefix   = 512       // body bytes hashed into Key when there is no Message-ID
	maxSubject      = 1000      // bytes of Subject kept: longer ones are junk, and slow to match
)

// Message is a parsed inbound message: the header fields classification and
// matching need, and the readable text of the message itself. Parts that
// belong to an attached or returned message are kept apart from Text.
type Message struct {
	Header mail.Header // top-level header, parsed leniently

	MessageID  string    // normalised "<...>", "" when absent
	Key        string    // dedup key: MessageID, or a stable hash of Date/From/Subject/body start
	From       string    // lower-cased address of the first From mailbox, "" when none
	FromName   string    // display name, decoded
	Subject    string    // decoded (RFC 2047)
	Date       time.Time // Date header, else the topmost Received stamp; zero when neither parses
	InReplyTo  []string  // normalised ids
	References []string  // normalised ids, header order (thread root first)

	// Auth are the message's Authentication-Results fields, topmost first:
	// the verdicts receiving servers wrote (see ParseAuthResults). Whom to
	// believe is the caller's call.
	Auth []AuthResults

	// Text is the message's own readable text: its text/plain parts, or its
	// HTML with tags stripped when it has no plain text. Capped.
	Text string

	plain string // text/plain parts of the message itself
	html  string // text/html parts of the message itself, raw markup
	own   string // what the sender wrote, read once by Parse (see newText)

	reportType     string        // report-type of a multipart/report, lower-cased
	deliveryStatus []string      // bodies of message/delivery-status parts
	returned       []mail.Header // headers of attached or returned messages
}

// Parse reads a raw RFC 5322 message. It returns an error only when raw
// holds nothing at all; anything else yields a best-effort Message (a header
// line that does not parse is skipped, a broken MIME part is read as far as
// it goes). A leading mbox "From " line is ignored.
func Parse(raw []byte) (*Message, error) {
	raw = skipMboxLines(bytes.TrimLeft(raw, "\r\n"))
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("parse inbound message: empty")
	}
	hdr, body := readHeader(raw)
	m := &Message{Header: mail.Header{Header: hdr}}

	m.MessageID = ownMessageID(hdr.Get("Message-Id"))
	m.From, m.FromName = parseFrom(m.Header)
	m.Subject = truncateUTF8(headerText(hdr, "Subject"), maxSubject)
	if d, err := m.Header.Date(); err == nil && !d.IsZero() {
		m.Date = d
	} else if d, ok := receivedDate(hdr); ok {
		m.Date = d
	}
	m.InReplyTo = MessageIDs(hdr.Get("In-Reply-To"))
	m.References = MessageIDs(hdr.Get("References"))
	m.Auth = readAuthResults(hdr)
	m.Key = m.MessageID
	if m.Key == "" {
		m.Key = hashKey(hdr, body)
	}

	w := walker{m: m}
	w.walk(hdr, body, 0)

	m.Text = m.plain
	if strings.TrimSpace(m.Text) == "" && m.html != "" {
		m.Text = htmlToText(m.html)
	}
	m.own = readNewText(m)
	return m, nil
}

// receivedDate is the stamp of the topmost Received field, when the
// message has no usable Date: the time the last server took it, which is
// what a year-less or relative return date ("until Friday") is read against
// (some autoresponders send no Date).
func receivedDate(h message.Header) (time.Time, bool) {
	v := h.Get("Received")
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return time.Time{}, false
	}
	d, err := netmail.ParseDate(strings.TrimSpace(v[i+1:]))
	return d, err == nil
}

// skipMboxLines drops leading mbox separators ("From sender date") and their
// escaped form (">From ..."), which some stores keep in front of the header.
func skipMboxLines(raw []byte) []byte {
	for bytes.HasPrefix(raw, []byte("From ")) || bytes.HasPrefix(raw, []byte(">From ")) {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return nil
		}
		raw = raw[i+1:]
	}
	return raw
}

// hashKey is the dedup key of a message without Message-ID: stable across
// fetches because it only reads bytes that do not change in the mailbox.
func hashKey(h message.Header, body []byte) string {
	sum := sha256.New()
	for _, k := range []string{"Date", "From", "Subject"} {
		io.WriteString(sum, h.Get(k))
		sum.Write([]byte{0})
	}
	if len(body) > keyBodyPrefix {
		body = body[:keyBodyPrefix]
	}
	sum.Write(body)
	return "sha256:" + hex.EncodeToString(sum.Sum(nil))[:32]
}

func parseFrom(h mail.Header) (addr, name string) {
	if list, err := h.AddressList("From"); err == nil && len(list) > 0 {
		return strings.ToLower(list[0].Address), list[0].Name
	}
	// Unparsable From: take the first thing that looks like an address.
	v := headerText(h.Header, "From")
	if as := findAddresses(v); len(as) > 0 {
		return as[0], ""
	}
	return "", ""
}

// headerText decodes RFC 2047 words; on an unknown charset it keeps the raw value.
func headerText(h message.Header, key string) string {
	v, _ := h.Text(key)
	return strings.Join(strings.Fields(v), " ")
}

// readHeader splits raw into a header and a body, leniently: continuation
// lines before the first field are dropped, and a line that is not a field
// is skipped when the header goes on after it, or else taken as the start of
// a body that lacks its blank separator line. Input that does not start with
// a field has no header at all: it is all body.
func readHeader(raw []byte) (message.Header, []byte) {
	type field struct{ k, v string }
	var fields []field
	var cur *field
	var value strings.Builder
	flush := func() {
		if cur != nil {
			cur.v = value.String()
			fields = append(fields, *cur)
			cur = nil
		}
		value.Reset()
	}

	body := []byte(nil)
	pos := 0
	for pos < len(raw) {
		line, next := nextLine(raw, pos)
		switch {
		case len(line) == 0: // the blank line: header ends
			flush()
			body = raw[next:]
			pos = len(raw) + 1
		case line[0] == ' ' || line[0] == '\t':
			if cur != nil {
				if t := bytes.TrimSpace(line); len(t) > 0 {
					if value.Len() > 0 {
						value.WriteByte(' ')
					}
					value.Write(t)
				}
			}
			pos = next
		default:
			k, v, ok := splitField(line)
			if !ok {
				if len(fields) == 0 && cur == nil {
					// Not a header at all.
					return message.Header{}, raw
				}
				if after, _ := nextLine(raw, next); next < len(raw) && (looksLikeField(after) || len(after) > 0 && (after[0] == ' ' || after[0] == '\t')) {
					pos = next // a stray line inside the header
					continue
				}
				flush()
				body = raw[pos:]
				pos = len(raw) + 1
				continue
			}
			flush()
			if len(fields) < maxHeaderFields {
				cur = &field{k: k}
				value.Write(bytes.TrimSpace(v))
			}
			pos = next
		}
	}
	flush()

	// textproto.Header keeps fields in reverse order: add the last one first
	// so Get returns the first occurrence, as in the message.
	var th textproto.Header
	for i := len(fields) - 1; i >= 0; i-- {
		th.Add(fields[i].k, fields[i].v)
	}
	return message.Header{Header: th}, body
}

// nextLine returns the line at pos without its line ending, and the offset
// of the following line.
func nextLine(raw []byte, pos int) (line []byte, next int) {
	if pos >= len(raw) {
		return nil, len(raw)
	}
	i := bytes.IndexByte(raw[pos:], '\n')
	if i < 0 {
		return bytes.TrimRight(raw[pos:], "\r"), len(raw)
	}
	return bytes.TrimRight(raw[pos:pos+i], "\r"), pos + i + 1
}

func looksLikeField(line []byte) bool {
	_, _, ok := splitField(line)
	return ok
}

// splitField splits "Key: value". The key is printable ASCII without
// spaces (trailing spaces before the colon are tolerated, as in the wild).
func splitField(line []byte) (key string, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || i > 100 {
		return "", nil, false
	}
	k := bytes.TrimRight(line[:i], " \t")
	if len(k) == 0 {
		return "", nil, false
	}
	for _, c := range k {
		if c < 33 || c > 126 {
			return "", nil, false
		}
	}
	return string(k), line[i+1:], true
}

// contentType parses Content-Type leniently: a malformed parameter list
// still yields the media type, and the parameters that can be read.
func contentType(h message.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return strings.ToLower(mt), params
	}
	parts := strings.Split(v, ";")
	mt = strings.ToLower(strings.TrimSpace(parts[0]))
	params = map[string]string{}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if k != "" {
			if _, dup := params[k]; !dup {
				params[k] = val
			}
		}
	}
	return mt, params
}

// walker visits the MIME tree and sorts what it finds into the Message.
type walker struct {
	m     *Message
	parts int
}

func (w *walker) walk(h message.Header, body []byte, depth int) {
	w.parts++
	if w.parts > maxParts {
		return
	}
	mt, params := contentType(h)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if mt == "multipart/report" && w.m.reportType == "" {
			w.m.reportType = strings.ToLower(params["report-type"])
		}
		parts := splitMultipart(body, params["boundary"])
		if parts == nil || depth >= maxDepth {
			// A multipart without readable parts: keep its text, a bounce
			// notice may still be in there.
			w.addText("text/plain", string(limit(body, maxPartText)))
			return
		}
		for _, p := range parts {
			ph, pb := readHeader(p)
			w.walk(ph, pb, depth+1)
			if w.parts > maxParts {
				return
			}
		}
	case mt == "message/rfc822" || mt == "message/global" ||
		mt == "text/rfc822-headers" || mt == "message/rfc822-headers" || mt == "message/global-headers":
		rh, _ := readHeader(decodeBody(h, body))
		w.m.returned = append(w.m.returned, mail.Header{Header: rh})
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		w.m.deliveryStatus = append(w.m.deliveryStatus, string(decodeBody(h, body)))
	case strings.HasPrefix(mt, "text/"):
		if isAttachment(h) {
			return
		}
		w.addText(mt, string(decodeBody(h, body)))
	}
}

func (w *walker) addText(mt, s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	switch mt {
	case "text/html":
		w.m.html = appendCapped(w.m.html, s)
	case "text/plain", "text/enriched", "text/richtext":
		w.m.plain = appendCapped(w.m.plain, s)
	}
}

func appendCapped(dst, s string) string {
	if dst != "" {
		dst += "\n"
	}
	return dst + truncateUTF8(s, maxText-len(dst))
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:max(n, 0)]
	for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && !utf8.ValidString(s[len(s)-1:]) {
		s = s[:len(s)-1]
	}
	return s
}

// isAttachment: a text file attached to a reply is not what the person
// wrote. Only the disposition decides: bounce notices often carry a file
// name ("deliveryproblems.txt") and are still the notice.
func isAttachment(h message.Header) bool {
	disp, _, _ := strings.Cut(h.Get("Content-Disposition"), ";")
	return strings.EqualFold(strings.TrimSpace(disp), "attachment")
}

// decodeBody undoes the transfer encoding and, for text, the charset, with
// go-message; an unknown encoding or charset leaves the bytes as they are,
// a corrupt encoding yields what decoded before the damage.
func decodeBody(h message.Header, body []byte) []byte {
	e, _ := message.New(h, bytes.NewReader(body)) // an error still comes with a readable entity
	if e == nil {
		return limit(body, maxPartText)
	}
	data, _ := io.ReadAll(io.LimitReader(e.Body, maxPartText))
	return data
}

func limit(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// splitMultipart cuts a multipart body at its boundary lines. It tolerates a
// missing closing boundary (the last part runs to the end) and transport
// padding after a boundary; it returns nil when no boundary line is found.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" || len(boundary) > 200 {
		return nil
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // offset where the current part's content begins
	pos := 0
	for pos < len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		if at > 0 && body[at-1] != '\n' {
			pos = at + len(delim)
			continue
		}
		line, next := nextLine(body, at)
		rest := bytes.TrimRight(line[len(delim):], " \t")
		closing := bytes.Equal(rest, []byte("--"))
		if len(rest) != 0 && !closing {
			pos = at + len(delim)
			continue
		}
		if start >= 0 {
			parts = append(parts, trimLineEnd(body[start:at]))
			if len(parts) >= maxParts {
				return parts
			}
		}
		if closing {
			return parts
		}
		start = next
		pos = next
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}

// trimLineEnd removes the line break that belongs to the next boundary line.
func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
