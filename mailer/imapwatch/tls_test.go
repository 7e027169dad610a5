package imapwatch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// testCert is a self-signed certificate for 127.0.0.1 and a pool trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imapwatch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestDialTLSModes: implicit TLS and STARTTLS connect and log in with the
// server's CA; an untrusted certificate is refused; a plaintext server is
// refused when TLS is asked for.
func TestDialTLSModes(t *testing.T) {
	cert, pool := testCert(t)
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPassword)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	serve := func(implicit bool) int {
		opts := &imapserver.Options{
			NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
				return mem.NewSession(), nil, nil
			},
			Caps:   imap.CapSet{imap.CapIMAP4rev1: {}},
			Logger: log.New(io.Discard, "", 0),
		}
		if !implicit {
			opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		}
		srv := imapserver.New(opts)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if implicit {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().(*net.TCPAddr).Port
	}
	implicitPort, startTLSPort := serve(true), serve(false)
	plain := newMemIMAP(t, false)

	for _, tt := range []struct {
		name    string
		port    int
		mode    string
		roots   *x509.CertPool
		wantErr string
	}{
		{"implicit TLS", implicitPort, "tls", pool, ""},
		{"STARTTLS", startTLSPort, "starttls", pool, ""},
		{"untrusted certificate", implicitPort, "tls", nil, "certificate"},
		{"untrusted certificate on STARTTLS", startTLSPort, "starttls", nil, "certificate"},
		{"TLS asked of a plaintext server", plain.port(), "tls", pool, "TLS handshake"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("127.0.0.1", tt.port, "instance-a")
			cfg.TLS, cfg.RootCAs, cfg.Timeout = tt.mode, tt.roots, 2*time.Second
			w, err := New(cfg, nopHandler{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := w.dial(context.Background(), make(chan struct{}, 1))
			if err == nil {
				defer c.Close()
				err = w.login(c, "")
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("connecting: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("connecting: %v, want an error about %q", err, tt.wantErr)
			case strings.Contains(errString(err), testPassword):
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
