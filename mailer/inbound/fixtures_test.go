package inbound

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedFixtureFloor is just under the share TestSharedFixtures measured
// when the rules were last tuned (55/55), so that a regression fails the
// test: one miss in 55 still passes (0.982), two do not.
const sharedFixtureFloor = 0.98

// sharedFixturesDir finds the shared real-world samples: $DRIP_INBOUND_FIXTURES,
// else ../../../shared/fixtures/inbound from the package directory (where
// go test runs), i.e. /work/shared/fixtures/inbound beside the checkout.
func sharedFixturesDir() string {
	if d := os.Getenv("DRIP_INBOUND_FIXTURES"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "fixtures", "inbound"))
	if err != nil {
		return ""
	}
	return d
}

var classKinds = map[string]Kind{
	"auto_reply":       AutoReply,
	"bounce_permanent": Bounce,
	"bounce_temporary": Delayed,
	"human_reply":      Reply,
	"stop_request":     Unsubscribe,
}

// TestSharedFixtures measures classification against the real-world samples
// collected from other projects' test suites (not copied here: several are
// copyleft). It logs the per-class score and every miss, and fails only when
// the overall share drops below sharedFixtureFloor.
func TestSharedFixtures(t *testing.T) {
	dir := sharedFixturesDir()
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		t.Skipf("shared fixtures not available (%v)", err)
	}
	defer f.Close()

	type score struct{ ok, total int }
	perClass := map[string]*score{}
	var misses []string
	ok, total := 0, 0

	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	col := map[string]int{}
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if line == 1 {
			for i, name := range fields {
				col[name] = i
			}
			for _, need := range []string{"file", "class", "expected_failed_recipient"} {
				if _, ok := col[need]; !ok {
					t.Fatalf("manifest.tsv:1: no %q column", need)
				}
			}
			continue
		}
		get := func(name string) string {
			if i := col[name]; i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		file, class := get("file"), get("class")
		want, known := classKinds[class]
		if file == "" || !known {
			t.Errorf("manifest.tsv:%d: unknown class %q for %q", line, class, file)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("manifest.tsv:%d: %v", line, err)
			continue
		}
		m, err := Parse(raw)
		if err != nil {
			t.Errorf("%s: Parse: %v", file, err)
			continue
		}
		res := Classify(m, []string{"Sales Rep <rep@drip.example>"})

		problem := ""
		if res.Kind != want {
			problem = "kind " + string(res.Kind) + " (" + res.Detail + ")"
		} else if exp := get("expected_failed_recipient"); exp != "" && (want == Bounce || want == Delayed) {
			for _, a := range strings.Split(exp, ";") {
				if a = strings.ToLower(strings.TrimSpace(a)); a != "" && !contains(res.Addresses, a) {
					problem = "recipient " + a + " not in " + strings.Join(res.Addresses, ",")
					break
				}
			}
		}
		s := perClass[class]
		if s == nil {
			s = &score{}
			perClass[class] = s
		}
		s.total++
		total++
		if problem == "" {
			s.ok++
			ok++
		} else {
			misses = append(misses, file+": want "+string(want)+", got "+problem)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	if total == 0 {
		t.Fatal("manifest.tsv lists no fixtures")
	}

	classes := make([]string, 0, len(perClass))
	for c := range perClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("%-17s %2d/%2d", c, perClass[c].ok, perClass[c].total)
	}
	share := float64(ok) / float64(total)
	t.Logf("%-17s %2d/%2d (%.1f%%)", "overall", ok, total, 100*share)
	for _, miss := range misses {
		t.Logf("miss: %s", miss)
	}
	if share < sharedFixtureFloor {
		t.Errorf("overall share %.3f fell below the floor %.3f", share, sharedFixtureFloor)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
