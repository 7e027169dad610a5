package configs

import (
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RequireBasis is a sequence's require_basis: true (every prospect needs
// a lawful basis to be enrolled), false, or a list of codes: then a
// prospect needs one when its country or its language (the base of it:
// "pl" for "pl-PL") is in the list. [pl, it] covers a buyer in Poland, and
// one who writes Polish, whatever the country column says.
type RequireBasis struct {
	All   bool
	Codes []string // lower case
}

var basisCodeRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *RequireBasis) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch strings.ToLower(strings.TrimSpace(n.Value)) {
		case "true", "yes":
			*r = RequireBasis{All: true}
			return nil
		case "false", "no", "":
			*r = RequireBasis{}
			return nil
		}
	case yaml.SequenceNode:
		out := RequireBasis{}
		for _, c := range n.Content {
			code := strings.ToLower(strings.TrimSpace(c.Value))
			if c.Kind != yaml.ScalarNode || !basisCodeRE.MatchString(code) {
				return positioned(c, "expected a country or language code (pl, it, de, …)")
			}
			out.Codes = append(out.Codes, code)
		}
		*r = out
		return nil
	}
	return positioned(n, "expected true, false, or a list of country or language codes, e.g. [pl, it]")
}

// Required reports whether a prospect of that country (ISO 3166 alpha-2)
// and language needs a lawful basis to be enrolled.
func (r RequireBasis) Required(country, language string) bool {
	if r.All {
		return true
	}
	if len(r.Codes) == 0 {
		return false
	}
	lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(strings.ReplaceAll(language, "_", "-"))), "-")
	c := strings.ToLower(strings.TrimSpace(country))
	return c != "" && slices.Contains(r.Codes, c) || lang != "" && slices.Contains(r.Codes, lang)
}

// String is how the setting reads in messages: "true" or "[pl, it]".
func (r RequireBasis) String() string {
	if r.All {
		return "true"
	}
	return "[" + strings.Join(r.Codes, ", ") + "]"
}
