package sqlstore

import (
	"strings"
	"unicode"
)

// A later row of a list, or a later API call, often carries a name as
// someone typed it in a hurry ("giulia esposito") or as an old system
// shouted it ("GIULIA ESPOSITO"). The first email then opens "Buongiorno
// giulia". So where the new value is the same name as the stored one,
// letter for letter ignoring case, the better-cased of the two is kept: a
// word in title case ("Esposito", "McDonald") counts 2, a word in capitals
// 1, a word in lower case 0, and the new value wins ties. A value that
// differs in more than case is a correction and always wins.

// betterCased is the value to keep of the stored old and the incoming new.
func betterCased(old, new string) string {
	if new == "" || old == "" || old == new || !strings.EqualFold(old, new) {
		if new == "" {
			return old
		}
		return new
	}
	if caseScore(new) >= caseScore(old) {
		return new
	}
	return old
}

func caseScore(s string) int {
	score := 0
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '\'' }) {
		var first rune
		upper, lower := 0, 0
		for i, r := range w {
			if i == 0 {
				first = r
			}
			switch {
			case unicode.IsUpper(r):
				upper++
			case unicode.IsLower(r):
				lower++
			}
		}
		switch {
		case unicode.IsUpper(first) && lower > 0:
			score += 2
		case upper > 1 && lower == 0:
			score++
		}
	}
	return score
}
