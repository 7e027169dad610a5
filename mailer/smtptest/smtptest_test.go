package smtptest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func dial(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(c *smtp.Client, to, id string) error {
	body := "Message-Id: " + id + "\r\nSubject: hi\r\n\r\nhello\r\n"
	return c.SendMail("maria@example.com", []string{to}, strings.NewReader(body))
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestRecordsMessages(t *testing.T) {
	s := New(t, Options{})
	c := dial(t, s)
	if err := send(c, "John@Acme.example", "<1@x>"); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "john@acme.example", "<2@x>"); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages()
	if len(ms) != 2 || ms[0].From != "maria@example.com" || ms[0].To[0] != "John@Acme.example" ||
		ms[0].MessageID != "<1@x>" || ms[1].MessageID != "<2@x>" || ms[0].Conn != 1 || ms[1].Conn != 1 {
		t.Errorf("messages = %+v", ms)
	}
	if !strings.Contains(string(ms[0].Data), "hello") {
		t.Errorf("data = %q", ms[0].Data)
	}
	if s.Count("JOHN@acme.example") != 2 || s.Total() != 2 || s.Connections() != 1 || s.Active() != 1 {
		t.Errorf("count=%d total=%d conns=%d active=%d", s.Count("JOHN@acme.example"), s.Total(), s.Connections(), s.Active())
	}
}

func TestFaultsByRecipientAndTimes(t *testing.T) {
	s := New(t, Options{})
	s.SetFault(UnknownUser("bad@x.example"), Fault{Stage: AtRcpt, Code: 451, Text: "busy", Times: 1, Rcpts: []string{"once@x.example"}})
	c := dial(t, s)
	if err := send(c, "BAD@x.example", "<1@x>"); code(err) != 550 {
		t.Errorf("bad recipient: %v, want 550", err)
	}
	_ = c.Reset()
	if err := send(c, "good@x.example", "<2@x>"); err != nil {
		t.Errorf("good recipient: %v", err)
	}
	if err := send(c, "once@x.example", "<3@x>"); code(err) != 451 {
		t.Errorf("first try: %v, want 451", err)
	}
	_ = c.Reset()
	if err := send(c, "once@x.example", "<4@x>"); err != nil {
		t.Errorf("second try: %v (a Times: 1 fault fires once)", err)
	}
	s.SetFault()
	if err := send(c, "bad@x.example", "<5@x>"); err != nil {
		t.Errorf("after clearing: %v", err)
	}
	if s.Total() != 3 {
		t.Errorf("total = %d, want 3", s.Total())
	}
}

func TestRejectConnect(t *testing.T) {
	s := New(t, Options{})
	s.SetFault(RejectConnect())
	c := dial(t, s)
	if err := c.Hello("localhost"); code(err) != 421 {
		t.Errorf("greeting: %v, want 421", err)
	}
}

func TestDropAfterDotKeepsTheMessage(t *testing.T) {
	s := New(t, Options{})
	s.SetFault(DropAfterDot())
	c := dial(t, s)
	err := send(c, "john@acme.example", "<1@x>")
	if err == nil || code(err) != 0 {
		t.Errorf("send: %v, want a connection error", err)
	}
	if s.Count("john@acme.example") != 1 {
		t.Error("the message the server got before dropping is not recorded")
	}
}

func TestStallEndsWhenFaultsChange(t *testing.T) {
	s := New(t, Options{})
	s.SetFault(StallAt(AtMail, 0))
	c := dial(t, s)
	done := make(chan error, 1)
	go func() { done <- send(c, "john@acme.example", "<1@x>") }()
	select {
	case err := <-done:
		t.Fatalf("send finished during the stall: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.SetFault()
	if err := <-done; err != nil {
		t.Errorf("send after the stall: %v", err)
	}
}

func TestWait(t *testing.T) {
	s := New(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with no message: %v", err)
	}
	go func() {
		c, err := smtp.Dial(s.Addr())
		if err == nil {
			_ = send(c, "a@x.example", "<1@x>")
			_ = c.Quit()
		}
	}()
	if err := s.Wait(context.Background(), 1); err != nil {
		t.Errorf("Wait: %v", err)
	}
	waitActive(t, s, 0)
}

func TestAuthRequired(t *testing.T) {
	s := New(t, Options{Users: map[string]string{"maria": "pw"}})
	c := dial(t, s)
	if err := send(c, "a@x.example", "<1@x>"); code(err) != 502 {
		t.Errorf("MAIL without AUTH: %v, want 502", err)
	}
}

func waitActive(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Active() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", s.Active(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDropBeforeData(t *testing.T) {
	s := New(t, Options{})
	s.SetFault(DropBeforeData())
	c := dial(t, s)
	if err := c.Mail("maria@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("john@acme.example", nil); err != nil {
		t.Fatalf("RCPT: %v (the drop must wait for DATA)", err)
	}
	if _, err := c.Data(); err == nil || code(err) != 0 {
		t.Errorf("DATA: %v, want a connection error without a reply", err)
	}
	if s.Total() != 0 {
		t.Error("a message was recorded")
	}
}
