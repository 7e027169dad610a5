package importer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Telling a list's 8-bit encoding from its bytes.
//
// A file that is valid UTF-8 is UTF-8 (a Windows-1252 or -1250 text of any
// length that happens to be valid UTF-8 is vanishingly rare). Otherwise it
// is one of the encodings Excel writes in the languages drip's users work
// in: Windows-1252 (Western Europe), Windows-1250 (Polish, Czech, …) or
// ISO-8859-2 (older Polish systems). Those three agree on ASCII and differ
// on the letters that matter: Polish "Żółć" written in Windows-1250 is the
// bytes AF F3 B3 E6, which Windows-1252 reads as "¯ó³æ".
//
// The ICU-style detectors (github.com/gogs/chardet, saintfish/chardet) were
// tried on short lists of names and failed where it matters: "Żółć" in
// Windows-1250 came out as ISO-8859-1, and "Wąsik" (ą is B9 in 1250, B1 in
// 8859-2) as ISO-8859-2, which reads ą as š. Their n-gram models need
// running text, and a list is mostly addresses and a few names; they tell
// 1250 from 8859-2 only by the presence of bytes 80–9F. So drip scores each
// candidate decoding of the non-ASCII bytes instead:
//
//   - a letter of the languages drip's users write (Italian, Polish,
//     German, French, Spanish, Portuguese) scores 3, any other letter 1;
//   - a symbol (¯ ³ ± ¶ ¿ …) between two letters scores -5, next to one
//     -3: nobody's name has a superscript three in it, which is what a
//     wrong guess produces;
//   - a control character or an undefined byte scores -100: the text
//     cannot be in that encoding.
//
// The highest total wins; on a tie the order is Windows-1252, Windows-1250,
// ISO-8859-2 (a tie means the file's letters read the same in the tied
// encodings, or there are none).

// detectCandidates, in the order that breaks ties.
var detectCandidates = []struct {
	name string
	cm   *charmap.Charmap
}{
	{"windows-1252", charmap.Windows1252},
	{"windows-1250", charmap.Windows1250},
	{"iso-8859-2", charmap.ISO8859_2},
}

// commonLetters are the letters of the languages drip's users write, beyond
// ASCII (lower case; upper case is folded before the lookup).
var commonLetters = map[rune]bool{}

func init() {
	for _, r := range "àáâãäçèéêëìíîïñòóôõöùúûüýÿßœ" + "ąćęłńóśźż" {
		commonLetters[r] = true
	}
}

// detectSample is how much of the file detection reads.
const detectSample = 256 << 10

// detectEncoding names the encoding of sample (the start of a file; atEOF
// when it is all of it): "utf-8" or one of detectCandidates.
func detectEncoding(sample []byte, atEOF bool) string {
	if !atEOF {
		// A multi-byte character cut at the end of the sample.
		for i := 0; i < utf8.UTFMax && len(sample) > 0; i++ {
			if r, _ := utf8.DecodeLastRune(sample); r != utf8.RuneError {
				break
			}
			sample = sample[:len(sample)-1]
		}
	}
	if utf8.Valid(sample) {
		return "utf-8"
	}
	return guess8bit(sample)
}

// guess8bit picks the best scoring of detectCandidates for bytes that are
// not UTF-8.
func guess8bit(b []byte) string {
	best, bestScore := detectCandidates[0].name, 0
	for i, c := range detectCandidates {
		s := score8bit(b, c.cm)
		if i == 0 || s > bestScore {
			best, bestScore = c.name, s
		}
	}
	return best
}

func score8bit(b []byte, cm *charmap.Charmap) int {
	score := 0
	for i, c := range b {
		if c < 0x80 {
			continue
		}
		r := cm.DecodeByte(c)
		switch {
		case r == utf8.RuneError || unicode.IsControl(r):
			score -= 100
		case unicode.IsLetter(r):
			if commonLetters[unicode.ToLower(r)] {
				score += 3
			} else {
				score++
			}
		default:
			before := i > 0 && isLetterByte(b[i-1], cm)
			after := i+1 < len(b) && isLetterByte(b[i+1], cm)
			switch {
			case before && after:
				score -= 5
			case before || after:
				score -= 3
			}
		}
	}
	return score
}

func isLetterByte(c byte, cm *charmap.Charmap) bool {
	if c < 0x80 {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	return unicode.IsLetter(cm.DecodeByte(c))
}
