package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashAndCheck(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$12$") || strings.Contains(h, "correct horse") {
		t.Fatalf("hash %q is not a bcrypt hash of cost 12", h)
	}
	if !Check(h, "correct horse battery") || Check(h, "correct horse batterY") {
		t.Fatal("Check does not tell the right password from a wrong one")
	}
	if _, err := Hash("short"); err == nil {
		t.Fatal("a 5-character password was accepted")
	}
	if _, err := Hash(strings.Repeat("x", 73)); err == nil {
		t.Fatal("a password beyond bcrypt's 72 bytes was accepted (it would be cut)")
	}
}

func TestDummyHashHasTheCost(t *testing.T) {
	if c, err := bcrypt.Cost(dummy); err != nil || c != Cost {
		t.Fatalf("the dummy hash has cost %d (%v), want %d: a missing user would be refused faster than a wrong password", c, err, Cost)
	}
}
