package oauth

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The flows print what the user must do on out and return the token the
// provider gave; Save stores it. They never print a token.

// DeviceFlow signs in by device code (Microsoft): the user opens a URL on
// any device, types the code, and signs in; this waits until they did.
func DeviceFlow(ctx context.Context, conf *oauth2.Config, out io.Writer) (*oauth2.Token, error) {
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("asking for a device code: %w", scrubRetrieve(err))
	}
	fmt.Fprintf(out, "To sign the mailbox in, open %s in a browser (any device) and enter the code %s\n", da.VerificationURI, da.UserCode)
	if !da.Expiry.IsZero() {
		fmt.Fprintf(out, "Waiting for you to sign in (the code works until %s)...\n", da.Expiry.Format("15:04:05"))
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("waiting for the sign-in: %w", scrubRetrieve(err))
	}
	return tok, nil
}

// BrowserFlow signs in with the installed-app flow and PKCE (Google): a
// browser on this machine opens the provider's page, which sends the
// answer to a one-off listener on 127.0.0.1.
func BrowserFlow(ctx context.Context, conf *oauth2.Config, out io.Writer) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the sign-in answer: %w", err)
	}
	defer ln.Close()
	c := *conf
	c.RedirectURL = "http://" + ln.Addr().String() + "/"
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	fmt.Fprintf(out, "Open this address in a browser on this machine and allow access:\n\n  %s\n\nWaiting for the answer on %s (no browser here? run again with --manual)...\n",
		authURL(&c, state, verifier), c.RedirectURL)

	type answer struct {
		code string
		err  error
	}
	got := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := codeFrom(r.URL.Query(), state)
		if err != nil {
			http.Error(w, "drip: "+err.Error(), http.StatusBadRequest)
		} else {
			fmt.Fprint(w, "<!doctype html><title>drip</title><p>drip: the mailbox is signed in. You can close this tab.</p>")
		}
		select {
		case got <- answer{code, err}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	var a answer
	select {
	case a = <-got:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the sign-in: %w", ctx.Err())
	}
	if a.err != nil {
		return nil, a.err
	}
	return exchange(ctx, &c, a.code, verifier)
}

// ManualRedirect is where the provider sends the browser in the
// paste-the-code flow: nothing listens there, the user copies the address.
const ManualRedirect = "http://127.0.0.1:1/"

// ManualFlow is BrowserFlow for a machine without a browser: the user opens
// the address anywhere, signs in, and pastes the address the browser ends
// on (which fails to load) or just its code.
func ManualFlow(ctx context.Context, conf *oauth2.Config, out io.Writer, in io.Reader) (*oauth2.Token, error) {
	c := *conf
	c.RedirectURL = ManualRedirect
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	fmt.Fprintf(out, "Open this address in any browser and allow access:\n\n  %s\n\nThe browser then tries to open %s... and fails: copy that whole address from its address bar and paste it here:\n",
		authURL(&c, state, verifier), ManualRedirect)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return nil, errors.New("no address pasted")
	}
	line = strings.TrimSpace(line)
	code := line
	if strings.Contains(line, "://") || strings.HasPrefix(line, "?") {
		u, err := url.Parse(line)
		if err != nil {
			return nil, fmt.Errorf("the pasted address does not parse: %w", err)
		}
		if code, err = codeFrom(u.Query(), state); err != nil {
			return nil, err
		}
	}
	if code == "" {
		return nil, errors.New("no code in what was pasted")
	}
	return exchange(ctx, &c, code, verifier)
}

func authURL(c *oauth2.Config, state, verifier string) string {
	// access_type=offline and prompt=consent: Google gives a refresh token
	// only then.
	return c.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "consent"))
}

func codeFrom(q url.Values, state string) (string, error) {
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("the provider refused: %s %s", html.EscapeString(e), html.EscapeString(q.Get("error_description")))
	}
	if q.Get("state") != state {
		return "", errors.New("the answer is not for this sign-in (state differs); start again")
	}
	if q.Get("code") == "" {
		return "", errors.New("the answer has no code")
	}
	return q.Get("code"), nil
}

func exchange(ctx context.Context, c *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("exchanging the code for a token: %w", scrubRetrieve(err))
	}
	return tok, nil
}
