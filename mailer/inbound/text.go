package inbound

import (
	"html"
	"regexp"
	"strings"
)

// addressRE finds addresses in free text. The local part leaves out "/",
// "=", "?" and quotes so that "SMTP=joe@x.com" and ".../path/joe@x.com"
// yield the address and not the text glued to it; the domain needs a dot
// but may have a one-letter label ("a@b.c" appears in real bounces).
var addressRE = regexp.MustCompile(`[A-Za-z0-9._%+!#$&*^{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`)

// findAddresses returns the distinct lower-cased addresses in s, in order.
func findAddresses(s string) []string {
	var out []string
	for _, a := range addressRE.FindAllString(s, 100) {
		if a = cleanAddress(a); a != "" {
			out = appendUnique(out, a)
		}
	}
	return out
}

// cleanAddress lower-cases and trims the dots that sentence punctuation
// leaves around an address; "" when nothing address-like is left.
func cleanAddress(a string) string {
	a = strings.ToLower(strings.Trim(strings.TrimSpace(a), ".<>\"'"))
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 || !strings.Contains(a[at:], ".") {
		return ""
	}
	return a
}

// foldReplacer maps the accented letters of our languages to ASCII, so that
// phrase lists can be written once ("piu" matches "più" and "piu").
var foldReplacer = strings.NewReplacer(
	"à", "a", "á", "a", "â", "a", "ä", "a", "ã", "a", "ą", "a",
	"è", "e", "é", "e", "ê", "e", "ë", "e", "ę", "e",
	"ì", "i", "í", "i", "î", "i", "ï", "i",
	"ò", "o", "ó", "o", "ô", "o", "ö", "o", "õ", "o",
	"ù", "u", "ú", "u", "û", "u", "ü", "u",
	"ł", "l", "ś", "s", "ź", "z", "ż", "z", "ć", "c", "ń", "n",
	"ç", "c", "ñ", "n", "ß", "ss",
	"’", "'", "‘", "'", "\u00a0", " ",
)

// fold lower-cases and strips diacritics.
func fold(s string) string {
	return foldReplacer.Replace(strings.ToLower(s))
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// containsAny reports the first of phrases found in s, "" when none.
func containsAny(s string, phrases []string) string {
	for _, p := range phrases {
		if strings.Contains(s, p) {
			return p
		}
	}
	return ""
}

// htmlQuoteMarkers start the quoted original in the HTML of the usual
// clients (Gmail, Outlook desktop/web, Thunderbird, Yahoo, Apple Mail, ...).
var htmlQuoteMarkers = []string{
	"gmail_quote", "<blockquote", "divrplyfwdmsg", "appendonsend", "moz-cite-prefix",
	"yahoo_quoted", "mail-editor-reference-message-container", "protonmail_quote",
	"zmail_extra", "ms-outlook-mobile-reference-message",
}

// cutHTMLQuote drops everything from the tag that opens the quoted original.
func cutHTMLQuote(s string) string {
	lower := asciiLower(s)
	cut := len(s)
	for _, mk := range htmlQuoteMarkers {
		if i := strings.Index(lower[:cut], mk); i >= 0 {
			if lt := strings.LastIndexByte(lower[:i+1], '<'); lt >= 0 {
				i = lt
			}
			cut = i
		}
	}
	return s[:cut]
}

// htmlToText renders HTML as plain text: tags that break lines become line
// breaks, style/script/head vanish, entities are decoded, source line breaks
// are just spaces (as a browser shows them).
func htmlToText(s string) string {
	if len(s) > maxText {
		s = s[:maxText]
	}
	lower := asciiLower(s)
	var b strings.Builder
	i := 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			writeHTMLText(&b, s[i:])
			break
		}
		writeHTMLText(&b, s[i:i+lt])
		i += lt
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		gt := strings.IndexByte(s[i:], '>')
		if gt < 0 {
			break
		}
		name := tagName(lower[i+1 : i+gt])
		i += gt + 1
		switch name {
		case "style", "script", "head", "title":
			if end := strings.Index(lower[i:], "</"+name); end >= 0 {
				i += end
			} else {
				i = len(s)
			}
		case "br", "p", "/p", "div", "/div", "tr", "/tr", "li", "/li", "hr", "blockquote", "/blockquote",
			"/h1", "/h2", "/h3", "/h4", "/h5", "/h6", "table", "/table", "pre", "/pre":
			b.WriteByte('\n')
		case "td", "/td", "th", "/th":
			b.WriteByte(' ')
		}
	}
	return tidyText(html.UnescapeString(b.String()))
}

func writeHTMLText(b *strings.Builder, s string) {
	b.WriteString(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s))
}

func tagName(tag string) string {
	prefix := ""
	if strings.HasPrefix(tag, "/") {
		prefix, tag = "/", tag[1:]
	}
	end := 0
	for end < len(tag) && ('a' <= tag[end] && tag[end] <= 'z' || '0' <= tag[end] && tag[end] <= '9') {
		end++
	}
	return prefix + tag[:end]
}

// tidyText collapses runs of spaces inside lines and of blank lines.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\u00a0", " "), "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// unquote removes "> " quoting from every line: a forwarded or quoted bounce
// is still a bounce.
func unquote(s string) string {
	if !strings.Contains(s, ">") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t")
		if !strings.HasPrefix(t, ">") {
			continue
		}
		for strings.HasPrefix(t, ">") {
			t = strings.TrimPrefix(t[1:], " ")
		}
		lines[i] = t
	}
	return strings.Join(lines, "\n")
}
