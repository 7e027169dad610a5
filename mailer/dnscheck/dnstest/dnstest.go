// Package dnstest runs a real DNS server (github.com/miekg/dns) on
// 127.0.0.1 for tests, answering from records a test sets.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server answers UDP and TCP queries from its records; a name it has no
// record of any type for is NXDOMAIN.
type Server struct {
	Addr string // host:port of both listeners

	mu      sync.Mutex
	records []dns.RR
	queries int
}

// New starts a server with records in zone-file syntax, one per string
// ("example.com. 300 IN TXT \"v=spf1 -all\""); it stops with the test.
func New(t testing.TB, records ...string) *Server {
	t.Helper()
	s := &Server{}
	s.Set(t, records...)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		// The UDP port may be taken for TCP; UDP alone is enough for
		// small answers.
		ln = nil
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: s}
	started := make(chan struct{})
	udp.NotifyStartedFunc = func() { close(started) }
	go func() { _ = udp.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = udp.Shutdown() })
	if ln != nil {
		tcp := &dns.Server{Listener: ln, Handler: s}
		tstarted := make(chan struct{})
		tcp.NotifyStartedFunc = func() { close(tstarted) }
		go func() { _ = tcp.ActivateAndServe() }()
		<-tstarted
		t.Cleanup(func() { _ = tcp.Shutdown() })
	}
	return s
}

// Set replaces the records.
func (s *Server) Set(t testing.TB, records ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		rrs = append(rrs, rr)
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
}

// Queries counts the questions answered.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	s.mu.Lock()
	s.queries++
	known := false
	for _, q := range r.Question {
		for _, rr := range s.records {
			if !strings.EqualFold(rr.Header().Name, q.Name) {
				continue
			}
			known = true
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	s.mu.Unlock()
	if !known {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}
