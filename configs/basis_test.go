package configs

import "testing"

const basisSequence = "name: fair\nsteps: 3\ninterval: 10d\nfirst_step_after: 0\ntimezone: Europe/Rome\ntemplates: fair\nrequire_basis: REQUIRE\n"

func basisFixture(t *testing.T, require string) *fixture {
	seq := basisSequence[:len(basisSequence)-len("REQUIRE\n")] + require + "\n"
	return newFixture(t, goodConfig, map[string]string{"fair": seq})
}

func TestLoadRequireBasis(t *testing.T) {
	for _, tc := range []struct {
		yaml                    string
		plPL, itIT, deAT, enNon bool // country+language pairs
	}{
		{"true", true, true, true, true},
		{"false", false, false, false, false},
		{"[pl, IT]", true, true, false, false},
		{"[de]", false, false, true, false},
	} {
		c, err := Load(basisFixture(t, tc.yaml).file)
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		rb := c.Sequences["fair"].RequireBasis
		for _, p := range []struct {
			country, lang string
			want          bool
		}{{"PL", "", tc.plPL}, {"", "pl-PL", tc.plPL}, {"", "it", tc.itIT}, {"AT", "de", tc.deAT}, {"", "en", tc.enNon}, {"", "", tc.enNon}} {
			if got := rb.Required(p.country, p.lang); got != p.want {
				t.Errorf("require_basis: %s: country %q language %q: required %v, want %v", tc.yaml, p.country, p.lang, got, p.want)
			}
		}
	}
}

func TestRequireBasisProblemsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"sometimes", ":7: require_basis: expected true, false, or a list of country or language codes, e.g. [pl, it]"},
		{"[pl, Poland]", ":7: require_basis[1]: expected a country or language code (pl, it, de, …)"},
		{"{pl: true}", ":7: require_basis: expected true, false, or a list"},
	} {
		f := basisFixture(t, tc.yaml)
		wantProblem(t, problems(t, f.file), f.seqFile("fair")+tc.want)
	}
}
