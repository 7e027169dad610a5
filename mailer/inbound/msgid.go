package inbound

import "strings"

const (
	maxIDs      = 200 // per header value; References are trimmed by senders long before this
	maxIDLength = 998 // RFC 5322 line length limit
)

// MessageIDs parses a Message-ID, In-Reply-To or References value into
// normalised ids ("<left@right>"), in header order, without duplicates.
// It is tolerant of junk: comments, missing brackets, folding inside an id
// and stray text are skipped or repaired rather than reported. A value with
// no bracketed id at all falls back to whitespace- or comma-separated tokens
// that contain "@".
func MessageIDs(headerValue string) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.Map(dropSpace, id)
		id = strings.Trim(id, "<>")
		if id == "" || len(id) > maxIDLength || len(ids) >= maxIDs {
			return
		}
		id = "<" + id + ">"
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}

	s := headerValue
	bracketed := false
	for len(ids) < maxIDs {
		open := strings.IndexByte(s, '<')
		if open < 0 {
			break
		}
		bracketed = true
		s = s[open+1:]
		end := strings.IndexAny(s, "<>")
		switch {
		case end < 0:
			// Truncated last id ("<abc@host"): keep it when it still looks like one.
			if tok := firstToken(s); strings.Contains(tok, "@") {
				add(tok)
			}
			s = ""
		case s[end] == '<':
			// "<<id>" or "<junk <id>": restart at the inner bracket.
			s = s[end:]
		default:
			add(s[:end])
			s = s[end+1:]
		}
	}
	if bracketed {
		return ids
	}
	for _, tok := range strings.FieldsFunc(headerValue, func(r rune) bool {
		return r == ',' || r == ';' || isSpaceRune(r)
	}) {
		tok = strings.Trim(tok, `"'()[]`)
		if strings.Contains(tok, "@") && !strings.ContainsAny(tok, "<>") &&
			!strings.HasPrefix(tok, "@") && !strings.HasSuffix(tok, "@") {
			add(tok)
		}
	}
	return ids
}

// ownMessageID normalises a message's own Message-ID header: the first id,
// or the bare trimmed value in brackets when it is a single token without
// them (some MTAs write "Message-Id: N77056c0a550a010202b5c").
func ownMessageID(v string) string {
	if ids := MessageIDs(v); len(ids) > 0 {
		return ids[0]
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxIDLength || strings.ContainsFunc(v, isSpaceRune) {
		return ""
	}
	if v = strings.Trim(v, "<>"); v == "" {
		return ""
	}
	return "<" + v + ">"
}

func firstToken(s string) string {
	if i := strings.IndexFunc(s, isSpaceRune); i >= 0 {
		return s[:i]
	}
	return s
}

func isSpaceRune(r rune) bool {
	return r == ' ' || r == '\t' || r == '\r' || r == '\n'
}

func dropSpace(r rune) rune {
	if isSpaceRune(r) {
		return -1
	}
	return r
}

// idList collects candidate ids in priority order: no duplicates, never
// the message's own id, at most maxIDs.
type idList struct {
	list []string
	seen map[string]bool
}

func newIDList(exclude string) *idList {
	return &idList{seen: map[string]bool{exclude: true}}
}

func (l *idList) add(ids ...string) {
	for _, id := range ids {
		if len(l.list) >= maxIDs {
			return
		}
		if !l.seen[id] {
			l.seen[id] = true
			l.list = append(l.list, id)
		}
	}
}

// appendUnique appends the strings not already in dst, keeping order. For
// the short lists of addresses it is used on.
func appendUnique(dst []string, items ...string) []string {
	for _, it := range items {
		dup := false
		for _, d := range dst {
			if d == it {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, it)
		}
	}
	return dst
}

// reversed returns a reversed copy: References lists the thread root first,
// but the latest referenced message is the most specific match.
func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}
