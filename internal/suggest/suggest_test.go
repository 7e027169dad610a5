package suggest

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"workers", "database_url", "senders", "http"}
	for _, c := range []struct{ in, want string }{
		{"workrs", "workers"},
		{"Workers", "workers"},
		{"database_ur", "database_url"},
		{"sender", "senders"},
		{"completely_else", ""},
		{"", ""},
	} {
		if got := Closest(c.in, keys); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
