package imapwatch

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/drip-email/drip/internal/testrig"
	"github.com/drip-email/drip/store"
)

// BenchmarkReplyLatency measures APPEND → enrollment replied (recorded in
// the store) for 200 replies to an idling watcher on imapmemserver, each
// APPENDed over IMAP: "sequential" waits for each reply to be recorded
// before the next, "burst" APPENDs all 200 back to back. It reports p50
// and p99 in milliseconds. Run:
//
//	go test -run '^$' -bench ReplyLatency -benchtime 1x ./mailer/imapwatch/
func BenchmarkReplyLatency(b *testing.B) {
	const n = 200
	for _, be := range testrig.Backends() {
		for _, burst := range []bool{false, true} {
			name := be.Name + "/sequential"
			if burst {
				name = be.Name + "/burst"
			}
			b.Run(name, func(b *testing.B) {
				var all []time.Duration
				for range b.N {
					all = append(all, replyLatencies(b, testrig.Open(b, be.URL(b)), n, burst)...)
				}
				slices.Sort(all)
				b.ReportMetric(ms(percentile(all, 50)), "p50-ms")
				b.ReportMetric(ms(percentile(all, 99)), "p99-ms")
				b.ReportMetric(ms(all[len(all)-1]), "max-ms")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// replyLatencies seeds n prospects, starts a watcher, APPENDs a reply of
// each and returns each one's time from APPEND to the recorded reply.
func replyLatencies(b *testing.B, st store.Store, n int, burst bool) []time.Duration {
	b.Helper()
	b.StopTimer()
	srv := newMemIMAP(b, false)
	prospects := make([]seeded, n)
	for i := range prospects {
		prospects[i] = seed(b, st, fmt.Sprintf("p%04d@prospect.example", i), "trade-fair")
	}
	handled := make(chan Handled, n)
	cfg := testConfig(srv.host(), srv.port(), "bench")
	cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	cfg.OnHandled = func(h Handled) { handled <- h }
	w, err := New(cfg, handler(st))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	testrig.WaitFor(b, "watcher idling", func() bool { _, idles := srv.proxy.stats(); return w.Connected() && idles >= 1 })

	c, err := imapclient.DialInsecure(srv.proxy.ln.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		b.Fatal(err)
	}
	appendRaw := func(raw []byte) uint32 {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		data, err := cmd.Wait()
		if err != nil {
			b.Fatal(err)
		}
		return uint32(data.UID)
	}
	wait := func() Handled {
		select {
		case h := <-handled:
			return h
		case <-time.After(30 * time.Second):
			b.Fatal("timed out waiting for a reply to be recorded")
			return Handled{}
		}
	}

	b.StartTimer()
	sentAt := map[uint32]time.Time{}
	doneAt := map[uint32]time.Time{}
	for _, p := range prospects {
		at := time.Now()
		uid := appendRaw(humanReply(p.prospect.Email, p.messageID))
		sentAt[uid] = at
		if !burst {
			h := wait()
			doneAt[h.UID] = time.Now()
		}
	}
	for len(doneAt) < n {
		h := wait()
		doneAt[h.UID] = time.Now()
	}
	b.StopTimer()

	var out []time.Duration
	for uid, at := range sentAt {
		end, ok := doneAt[uid]
		if !ok {
			b.Fatalf("UID %d never recorded", uid)
		}
		out = append(out, end.Sub(at))
	}
	for _, p := range prospects {
		if s := enrollment(b, st, p.enrollment.ID).State; s != store.StateReplied {
			b.Fatalf("%s: %s after its reply was recorded", p.prospect.Email, s)
		}
	}
	return out
}
