package mailer

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineConn lets a caller's context bound go-smtp's I/O: the client
// sets its own deadlines per command and takes no context, so every
// deadline it asks for is clamped to the context's deadline, and a
// cancelled context turns into a deadline in the past. It also counts
// failed writes, which tells a lost final "." from a lost reply.
type deadlineConn struct {
	net.Conn
	writeErrs atomic.Int64

	mu      sync.Mutex
	want    time.Time     // what the client last asked for
	limit   time.Time     // the bound context's deadline, zero if none
	expired bool          // the bound context is done
	maxWait time.Duration // cap of any deadline, 0 = none
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.writeErrs.Add(1)
	}
	return n, err
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.IsZero() && c.maxWait > 0 {
		if limit := time.Now().Add(c.maxWait); limit.Before(t) {
			t = limit
		}
	}
	c.want = t
	return c.apply()
}

func (c *deadlineConn) setMaxWait(d time.Duration) {
	c.mu.Lock()
	c.maxWait = d
	c.mu.Unlock()
}

func (c *deadlineConn) apply() error {
	t := c.want
	if !c.limit.IsZero() && (t.IsZero() || c.limit.Before(t)) {
		t = c.limit
	}
	if c.expired {
		t = time.Unix(1, 0)
	}
	return c.Conn.SetDeadline(t)
}

// bind ties the connection's I/O to ctx until the returned release is
// called; release reports whether ctx stayed out of it, as a connection
// whose I/O a cancellation may have cut is not reused.
func (c *deadlineConn) bind(ctx context.Context) (release func() (clean bool)) {
	c.mu.Lock()
	c.limit, _ = ctx.Deadline()
	c.expired = false
	_ = c.apply()
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.expired = true
		_ = c.apply()
		c.mu.Unlock()
	})
	return func() bool {
		stopped := stop()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.limit = time.Time{}
		if stopped {
			c.expired = false
		}
		_ = c.apply()
		return stopped
	}
}
