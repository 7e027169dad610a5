package templates

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// A template folder may hold one subfolder per language (it/01.txt,
// pl/01.txt, …) beside its default files. A prospect whose language names
// one of them gets that variant; any other prospect gets the default.

// languageDirRE is what a language folder is called: a lower-case ISO 639
// code, optionally with a region ("pt-br").
var languageDirRE = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)

// languageNames are names people write in a language column instead of
// its code, folded to lower case without accents.
var languageNames = map[string]string{
	"italian": "it", "italiano": "it", "ita": "it", "italienisch": "it", "italien": "it", "italiano/a": "it",
	"polish": "pl", "polski": "pl", "pol": "pl", "polnisch": "pl", "polonais": "pl", "polacco": "pl",
	"english": "en", "inglese": "en", "angielski": "en", "eng": "en", "englisch": "en", "anglais": "en", "ingles": "en",
	"german": "de", "deutsch": "de", "tedesco": "de", "niemiecki": "de", "deu": "de", "ger": "de", "allemand": "de", "aleman": "de",
	"french": "fr", "francais": "fr", "francese": "fr", "francuski": "fr", "fra": "fr", "fre": "fr", "franzosisch": "fr", "frances": "fr",
	"spanish": "es", "espanol": "es", "spagnolo": "es", "hiszpanski": "es", "spa": "es", "spanisch": "es", "espagnol": "es",
}

var languageFold = strings.NewReplacer("ç", "c", "ñ", "n", "ö", "o", "ń", "n", "á", "a", "é", "e", "ó", "o")

// NormalizeLanguage is the language tag a prospect's language value stands
// for, as language folders are named: "IT", "it_IT" and "Italiano" give
// "it-it", "it-it" and "it". "" stays "".
func NormalizeLanguage(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	l = strings.ReplaceAll(l, "_", "-")
	if code, ok := languageNames[languageFold.Replace(l)]; ok {
		return code
	}
	return l
}

// LanguageKey is how a prospect's language is counted in the funnel: its
// base language ("it-IT" and "Italiano" are both "it"); "" when not given.
func LanguageKey(lang string) string {
	l, _, _ := strings.Cut(NormalizeLanguage(lang), "-")
	return l
}

// Languages lists the language variants of the set, sorted.
func (s *Set) Languages() []string {
	out := make([]string, 0, len(s.variants))
	for l := range s.variants {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Variant is the language folder a prospect of language lang gets: the
// full tag if the set has it ("pt-br"), else its base language ("it" for
// "it-IT"), else "" for the default files.
func (s *Set) Variant(lang string) string {
	l := NormalizeLanguage(lang)
	if l == "" {
		return ""
	}
	if _, ok := s.variants[l]; ok {
		return l
	}
	base, _, _ := strings.Cut(l, "-")
	if _, ok := s.variants[base]; ok {
		return base
	}
	return ""
}

// forLanguage is the set a prospect of language lang is rendered with.
func (s *Set) forLanguage(lang string) *Set {
	if v := s.Variant(lang); v != "" {
		return s.variants[v]
	}
	return s
}

// languageDirs lists the language subfolders of dir, sorted, and notes
// every other subfolder as ignored.
func languageDirs(dir string, entries []os.DirEntry) (langs, warnings []string) {
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if languageDirRE.MatchString(e.Name()) {
			langs = append(langs, e.Name())
		} else {
			warnings = append(warnings, filepath.Join(dir, e.Name())+
				": ignored: a language folder is named by a lower-case language code (it, pl, en, pt-br)")
		}
	}
	sort.Strings(langs)
	return langs, warnings
}
