package mailer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	message "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// MaxReferences is how many Message-IDs a References header keeps: the
// thread root and the latest ones. Long threads would otherwise grow the
// header without bound (RFC 5322 3.6.4 allows trimming the middle).
const MaxReferences = 10

// NewMessageID returns a fresh "<random@domain>" with 128 random bits, so
// it is unique without coordination between engine instances.
func NewMessageID(domain string) string {
	domain = strings.Trim(sanitize(domain), " <>@")
	if domain == "" || strings.ContainsAny(domain, " @<>") {
		domain = "localhost"
	}
	return "<" + strings.ToLower(rand.Text()) + "@" + domain + ">"
}

// Build serialises m as an RFC 5322 message with CRLF line endings. The
// output depends only on m (the multipart boundary is derived from the
// Message-ID), so `drip preview` shows exactly what a send would carry.
func Build(m Message) ([]byte, error) {
	var buf bytes.Buffer
	if m.HTML == "" {
		h, err := header(m, "text/plain; charset=utf-8", "quoted-printable")
		if err != nil {
			return nil, err
		}
		w, err := message.CreateWriter(&buf, h.Header)
		if err != nil {
			return nil, fmt.Errorf("writing message header: %w", err)
		}
		if err := writeBody(w, m.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	var ct message.Header
	ct.SetContentType("multipart/alternative", map[string]string{"boundary": boundary(m)})
	h, err := header(m, ct.Get("Content-Type"), "")
	if err != nil {
		return nil, err
	}
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, fmt.Errorf("writing message header: %w", err)
	}
	// RFC 2046 5.1.4: the preferred alternative comes last.
	for _, p := range []struct{ ctype, body string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		var ph message.Header
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		ph.SetContentType(p.ctype, map[string]string{"charset": "utf-8"})
		pw, err := w.CreatePart(ph)
		if err != nil {
			return nil, fmt.Errorf("writing %s part: %w", p.ctype, err)
		}
		if err := writeBody(pw, p.body); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("closing multipart body: %w", err)
	}
	return buf.Bytes(), nil
}

func writeBody(w *message.Writer, body string) error {
	if _, err := w.Write([]byte(body)); err != nil {
		return fmt.Errorf("writing body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing body: %w", err)
	}
	return nil
}

// header builds the top-level fields, ending with the MIME ones.
// go-message writes the field added last first, so the fields are added in
// reverse of the order they are listed here.
func header(m Message, contentType, transferEncoding string) (mail.Header, error) {
	var h mail.Header
	if m.Date.IsZero() {
		return h, errors.New("building message: no Date")
	}
	from, err := address("From", m.FromName, m.FromEmail)
	if err != nil {
		return h, err
	}
	to, err := address("To", m.ToName, m.ToEmail)
	if err != nil {
		return h, err
	}
	rootID, err := parseMsgID("Message-ID", m.MessageID)
	if err != nil {
		return h, err
	}

	type field struct{ key, value string }
	var fields []field
	add := func(k, v string) { fields = append(fields, field{k, v}) }

	var enc mail.Header
	enc.SetDate(m.Date)
	add("Date", enc.Get("Date"))
	enc.SetAddressList("From", []*mail.Address{from})
	add("From", enc.Get("From"))
	enc.SetAddressList("To", []*mail.Address{to})
	add("To", enc.Get("To"))
	add("Subject", encodeText(strings.TrimSpace(sanitize(m.Subject)), firstWordLen("Subject")))
	enc.SetMessageID(rootID)
	add("Message-Id", enc.Get("Message-Id"))

	if m.InReplyTo != "" {
		id, err := parseMsgID("In-Reply-To", m.InReplyTo)
		if err != nil {
			return h, err
		}
		enc.SetMsgIDList("In-Reply-To", []string{id})
		add("In-Reply-To", enc.Get("In-Reply-To"))
	}
	if len(m.References) > 0 {
		refs := trimReferences(m.References)
		ids := make([]string, len(refs))
		for i, r := range refs {
			if ids[i], err = parseMsgID("References", r); err != nil {
				return h, err
			}
		}
		enc.SetMsgIDList("References", ids)
		add("References", enc.Get("References"))
	}

	if m.UnsubscribeURL != "" {
		unsub, err := unsubscribeURIs(m.UnsubscribeURL, m.UnsubscribeMailto)
		if err != nil {
			return h, err
		}
		add("List-Unsubscribe", unsub)
		add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	} else if m.UnsubscribeMailto != "" {
		return h, errors.New("building message: UnsubscribeMailto without UnsubscribeURL (RFC 8058 needs the HTTPS link)")
	}

	add("MIME-Version", "1.0")
	add("Content-Type", contentType)
	if transferEncoding != "" {
		add("Content-Transfer-Encoding", transferEncoding)
	}

	for i := len(fields) - 1; i >= 0; i-- {
		h.Add(fields[i].key, fields[i].value)
	}
	return h, nil
}

// sanitize replaces every control character (CR and LF above all) with a
// space: a value can then never end a header line early and start a new
// field, whatever a prospect typed into a CSV cell.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// maxWordLen is RFC 2047's longest encoded-word; lineLen the line length
// go-message folds headers at.
const (
	maxWordLen = 75
	lineLen    = 76
)

// firstWordLen leaves room for "Key: " on the first line.
func firstWordLen(key string) int { return lineLen - len(key) - 2 }

// encodeText encodes unstructured header text (RFC 2047 Q encoding, UTF-8)
// when it is not plain printable ASCII. It does what mime.QEncoding.Encode
// does, except that the first encoded-word is short enough to share a line
// with the field name: mime's first word may be 75 characters long, and
// then go-message cannot fold the field and writes it as one long line.
// Words never split a character; a decoder drops the spaces between them.
func encodeText(s string, firstLen int) string {
	if !needsEncoding(s) {
		return s
	}
	const prefix, suffix = "=?utf-8?q?", "?="
	var words []string
	var word strings.Builder
	budget := firstLen
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		var enc strings.Builder
		for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b > ' ' && b <= '~' && b != '=' && b != '?' && b != '_':
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		if word.Len() > 0 && len(prefix)+word.Len()+enc.Len()+len(suffix) > budget {
			words = append(words, prefix+word.String()+suffix)
			word.Reset()
			budget = maxWordLen
		}
		word.WriteString(enc.String())
	}
	words = append(words, prefix+word.String()+suffix)
	return strings.Join(words, " ")
}

// needsEncoding: anything but printable ASCII, or text a decoder would
// mistake for an encoded-word.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

func address(field, name, email string) (*mail.Address, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, fmt.Errorf("building message: %s has no address", field)
	}
	if strings.IndexFunc(email, unicode.IsControl) >= 0 {
		return nil, fmt.Errorf("building message: %s address %q contains control characters", field, email)
	}
	a, err := netmail.ParseAddress(email)
	if err != nil || a.Address != email {
		return nil, fmt.Errorf("building message: invalid %s address %q", field, email)
	}
	return &mail.Address{Name: strings.TrimSpace(sanitize(name)), Address: a.Address}, nil
}

// msgID checks a "<left@right>" Message-ID (brackets optional) and returns
// it without brackets, as go-message's setters want it.
func parseMsgID(field, id string) (string, error) {
	s := strings.TrimSpace(id)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	at := strings.LastIndexByte(s, '@')
	ok := at > 0 && at < len(s)-1
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("<>()[]\\,;:\"", r) {
			ok = false
		}
	}
	if !ok {
		return "", fmt.Errorf("building message: invalid %s %q", field, id)
	}
	return s, nil
}

// trimReferences keeps the thread root and the latest MaxReferences-1 IDs.
func trimReferences(refs []string) []string {
	if len(refs) <= MaxReferences {
		return refs
	}
	out := make([]string, 0, MaxReferences)
	out = append(out, refs[0])
	return append(out, refs[len(refs)-(MaxReferences-1):]...)
}

// unsubscribeURIs formats List-Unsubscribe (RFC 2369): the HTTPS link that
// RFC 8058 one-click needs, then the mailto alternative when there is one.
func unsubscribeURIs(link, mailto string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !uriSafe(link) {
		return "", fmt.Errorf("building message: invalid unsubscribe URL %q", link)
	}
	out := "<" + link + ">"
	if mailto != "" {
		if !strings.HasPrefix(strings.ToLower(mailto), "mailto:") {
			mailto = "mailto:" + mailto
		}
		u, err := url.Parse(mailto)
		if err != nil || u.Opaque == "" || !uriSafe(mailto) {
			return "", fmt.Errorf("building message: invalid unsubscribe mailto %q", mailto)
		}
		out += ", <" + mailto + ">"
	}
	return out, nil
}

// uriSafe refuses what would break out of the <...> of List-Unsubscribe.
func uriSafe(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == ',' {
			return false
		}
	}
	return true
}

// boundary is derived from the Message-ID so that a message always
// serialises to the same bytes; it is re-derived in the (astronomically
// unlikely) case that a body contains it.
func boundary(m Message) string {
	seed := m.MessageID
	for {
		sum := sha256.Sum256([]byte("drip-boundary\x00" + seed))
		b := "drip-" + hex.EncodeToString(sum[:12])
		if !strings.Contains(m.Text, b) && !strings.Contains(m.HTML, b) {
			return b
		}
		seed = b
	}
}
