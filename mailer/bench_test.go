package mailer

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drip-email/drip/mailer/smtptest"
	"github.com/emersion/go-smtp"
)

// benchConns is the concurrency of both benchmarks: goroutines sending at
// once, and connections.
const benchConns = 4

// BenchmarkPoolSend: Pool.Send from benchConns goroutines over a pool of
// benchConns connections.
func BenchmarkPoolSend(b *testing.B) {
	srv := smtptest.New(b, smtptest.Options{Discard: true})
	p := newTestPool(b, testConfig(srv), benchConns)
	msg := testMessage(b, "john@acme.example", 2000)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range benchConns {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := p.Send(context.Background(), sender, "john@acme.example", msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkBareClient: the same load with plain go-smtp clients, one per
// goroutine, MAIL/RCPT/DATA in a loop: the floor the pool's own work adds
// to.
func BenchmarkBareClient(b *testing.B) {
	srv := smtptest.New(b, smtptest.Options{Discard: true})
	msg := testMessage(b, "john@acme.example", 2000)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range benchConns {
		wg.Go(func() {
			c, err := smtp.Dial(srv.Addr())
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for next.Add(1) <= int64(b.N) {
				if err := c.Mail(sender, nil); err != nil {
					b.Error(err)
					return
				}
				if err := c.Rcpt("john@acme.example", nil); err != nil {
					b.Error(err)
					return
				}
				w, err := c.Data()
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := w.Write(msg); err != nil {
					b.Error(err)
					return
				}
				if err := w.Close(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
