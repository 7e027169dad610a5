package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/templates"
)

// peers are the servers a job's configuration points at.
type peers struct {
	SMTP string // host:port of an SMTP server (tls none, no AUTH)
	IMAP string // host:port of an IMAP server (tls none), "" = no watcher
}

// benchSequence is the shipped trade-fair sequence as the benchmarks run
// it: 60 steps, 10 days apart, threaded, the shipped templates (step 1 has
// an HTML part). No send window, so that what is due is sent now, and the
// first step right away, so that a seeded enrollment is due at once.
const benchSequence = `name: trade-fair
steps: 60
interval: 10d
first_step_after: 0
min_gap: 5d
timezone: Europe/Rome
thread: true
templates: trade-fair
`

// loadConfig writes a drip configuration into dir and loads it the way
// `drip serve` does, so that every default is drip's own.
func loadConfig(dir, dbURL string, p peers) (*configs.Config, error) {
	for _, d := range []string{"sequences", "templates"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := templates.WriteSamples(filepath.Join(dir, "templates")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sequences", "trade-fair.yaml"), []byte(benchSequence), 0o644); err != nil {
		return nil, err
	}
	smtpHost, smtpPort, err := splitHostPort(p.SMTP)
	if err != nil {
		return nil, err
	}
	var y strings.Builder
	fmt.Fprintf(&y, "database_url: %q\n", dbURL)
	fmt.Fprintf(&y, "http: {listen: \"127.0.0.1:0\", api_token: \"bench-token\", public_url: \"https://drip.example.com\"}\n")
	fmt.Fprintf(&y, "sequences_dir: %q\ntemplates_dir: %q\n", filepath.Join(dir, "sequences"), filepath.Join(dir, "templates"))
	fmt.Fprintf(&y, "senders:\n  - name: maria\n    from: \"Maria Rossi <maria@ferrovalvole.example>\"\n")
	fmt.Fprintf(&y, "    smtp: {host: %q, port: %d, tls: none}\n", smtpHost, smtpPort)
	if p.IMAP != "" {
		imapHost, imapPort, err := splitHostPort(p.IMAP)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&y, "    imap: {host: %q, port: %d, tls: none, username: %q, password: %q}\n", imapHost, imapPort, imapUser, imapPassword)
	}
	path := filepath.Join(dir, "drip.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o644); err != nil {
		return nil, err
	}
	return configs.Load(path)
}

func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	return host, n, err
}

// offsetClock is the system clock moved by a fixed amount: the serving
// benchmark uses it to make a different slice of its fixture due each run.
type offsetClock struct{ d time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().Add(c.d) }

// prospectRow is the i-th generated prospect of a seeded store.
func prospectRow(i int, sequence string, firstContact time.Time, next *time.Time) store.ImportRow {
	return store.ImportRow{
		Line: i + 2,
		Prospect: store.Prospect{
			Email:     fmt.Sprintf("prospect%07d@example%d.com", i, i%100),
			FirstName: fmt.Sprintf("Anna%d", i), LastName: "Kowalska",
			Company: fmt.Sprintf("Company %d sp. z o.o.", i/10), MetAt: "Hannover Messe",
			Fields: map[string]string{"segment": fmt.Sprintf("segment-%d", i%7)},
		},
		Sequence: sequence, Sender: "maria", FirstContact: firstContact, NextSendAt: next,
	}
}

// seedRows stores n generated rows through ImportBatch, batch rows at a time.
func seedRows(ctx context.Context, st store.Store, n, batch int, row func(i int) store.ImportRow) error {
	rows := make([]store.ImportRow, 0, batch)
	for i := 0; i < n; i++ {
		rows = append(rows, row(i))
		if len(rows) == batch || i == n-1 {
			res, err := st.ImportBatch(ctx, rows)
			if err != nil {
				return fmt.Errorf("seeding rows %d..%d: %w", i+1-len(rows), i, err)
			}
			for _, r := range res {
				if r.Err != nil {
					return fmt.Errorf("seeding line %d: %w", r.Line, r.Err)
				}
			}
			rows = rows[:0]
		}
	}
	return nil
}
