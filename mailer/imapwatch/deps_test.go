package imapwatch

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMailerImportsNoDripCore: the wire layer only reports. `go list -deps
// ./mailer/...` must name no drip package but mailer and its subpackages:
// not store, sequencer or configs (issue 11). Imports of tests do not count.
func TestMailerImportsNoDripCore(t *testing.T) {
	const module = "github.com/drip-email/drip"
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command on PATH: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", "./mailer/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps ./mailer/...: %v %s", err, msg)
	}
	var mailer, bad []string
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == module+"/mailer" || strings.HasPrefix(pkg, module+"/mailer/"):
			mailer = append(mailer, pkg)
		case pkg == module || strings.HasPrefix(pkg, module+"/"):
			bad = append(bad, pkg)
		}
	}
	if len(mailer) == 0 {
		t.Fatalf("go list named no mailer package; output:\n%s", out)
	}
	if len(bad) > 0 {
		t.Errorf("mailer depends on drip packages outside mailer: %s", strings.Join(bad, ", "))
	}
}
