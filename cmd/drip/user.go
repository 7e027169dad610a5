package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/drip-email/drip/internal/password"
	"github.com/drip-email/drip/store"
)

// senderList is a repeatable --sender flag (also comma-separated).
type senderList []string

func (l *senderList) String() string { return strings.Join(*l, ",") }
func (l *senderList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func init() {
	register(&command{
		name:    "user",
		args:    "add NAME --role rep|ops [--sender S ...] | passwd NAME | remove NAME",
		summary: "web UI accounts: a rep sees and acts on the prospects of its senders, ops on everything",
		setup: func(fs *flag.FlagSet, g *globals) func(context.Context, []string) error {
			role := fs.String("role", "", "add: rep or ops")
			var senders senderList
			fs.Var(&senders, "sender", "add: a sender whose prospects the rep sees (repeat, or comma-separated); required for a rep")
			return func(ctx context.Context, args []string) error {
				if len(args) != 2 {
					return usagef("want an action (add, passwd, remove) and a user name")
				}
				action, name := args[0], args[1]
				if !nameOK(name) {
					return usagef("user name %q: use 1-64 lower-case letters, digits, '.', '_' and '-'", name)
				}
				ctl, done, err := openControl(ctx, g)
				if err != nil {
					return err
				}
				defer done()
				st := ctl.Store
				switch action {
				case "add":
					r := store.Role(*role)
					if r != store.RoleRep && r != store.RoleOps {
						return usagef("--role rep or --role ops is required")
					}
					if r == store.RoleRep && len(senders) == 0 {
						return usagef("a rep needs at least one --sender: the prospects it sees are theirs")
					}
					for _, s := range senders {
						if _, ok := ctl.Config.Sender(s); !ok {
							return fmt.Errorf("no sender %q in %s", s, ctl.Config.File)
						}
					}
					hash, err := readNewPassword(g, name)
					if err != nil {
						return err
					}
					u := store.User{Name: name, PasswordHash: hash, Role: r, Senders: slices.Compact(senders), CreatedAt: time.Now()}
					if err := st.UserCreate(ctx, u); errors.Is(err, store.ErrConflict) {
						return fmt.Errorf("user %s exists (drip user passwd %s changes its password)", name, name)
					} else if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "added %s user %s\n", r, name)
				case "passwd":
					if _, err := st.UserGet(ctx, name); errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no user %s", name)
					} else if err != nil {
						return err
					}
					hash, err := readNewPassword(g, name)
					if err != nil {
						return err
					}
					if err := st.UserSetPassword(ctx, name, hash, time.Now()); err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "changed the password of %s; its sessions are signed out\n", name)
				case "remove":
					if err := st.UserDelete(ctx, name); errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("no user %s", name)
					} else if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "removed user %s; its sessions are signed out\n", name)
				default:
					return usagef("unknown action %q: use add, passwd or remove", action)
				}
				return nil
			}
		},
	})
}

func nameOK(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// readNewPassword asks for the password twice on a terminal (not echoed),
// or reads its first line from stdin otherwise (a script: `printf '%s\n'
// "$PW" | drip user add …`), and hashes it.
func readNewPassword(g *globals, name string) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(g.stderr, "password for %s: ", name)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprint(g.stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		pw = string(a)
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("reading the password: give it on standard input (one line)")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	return password.Hash(pw)
}
