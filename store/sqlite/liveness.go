//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/drip-email/drip/store"
	"github.com/drip-email/drip/store/internal/sqlstore"
)

// fileLiveness is SQLite's liveness (one machine): every instance is a
// file in dir, named after it and holding its name, on which the instance
// holds an exclusive flock(2) while it lives. The kernel drops the lock the
// moment the process dies, however it dies: a file whose lock can be taken
// is a dead instance's.
type fileLiveness struct{ dir string }

func newFileLiveness(dir string) sqlstore.Liveness { return &fileLiveness{dir: dir} }

// fileName is owner's file: its name, escaped, when that is short enough.
func (l *fileLiveness) fileName(owner string) string {
	name := url.PathEscape(owner)
	if len(name) > 120 {
		sum := sha256.Sum256([]byte(owner))
		name = name[:80] + "-" + hex.EncodeToString(sum[:8])
	}
	return filepath.Join(l.dir, name+".lock")
}

func (l *fileLiveness) Register(_ context.Context, owner string) (store.Instance, error) {
	in := &fileInstance{l: l, owner: owner}
	if err := in.take(); err != nil {
		return nil, err
	}
	return in, nil
}

// lockFile opens path and takes its lock if nobody holds it; f is nil
// when somebody does (or the file is gone).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// Dead reads the names in the files whose lock is free. A file left by a
// registration that died half-way (a temporary name) is removed.
func (l *fileLiveness) Dead(context.Context) ([]string, error) {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dead []string
	for _, e := range entries {
		path := filepath.Join(l.dir, e.Name())
		half := strings.HasPrefix(e.Name(), ".register-")
		if !half && !strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		f, err := lockFile(path)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		name, err := io.ReadAll(io.LimitReader(f, 4096))
		_ = f.Close()
		switch {
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", path, err)
		case half || len(name) == 0:
			_ = os.Remove(path)
		default:
			dead = append(dead, string(name))
		}
	}
	return dead, nil
}

// Forget removes the files of owners, each under its lock (a file whose
// lock is held again is kept).
func (l *fileLiveness) Forget(_ context.Context, owners []string) error {
	for _, owner := range owners {
		path := l.fileName(owner)
		f, err := lockFile(path)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		err = os.Remove(path)
		_ = f.Close()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// fileInstance holds its file open, and locked.
type fileInstance struct {
	l     *fileLiveness
	owner string

	mu     sync.Mutex
	f      *os.File
	path   string
	closed bool
}

// take writes the file under a temporary name, locks it, and only then
// gives it its name: nobody ever sees the file of a live instance unlocked.
func (in *fileInstance) take() error {
	if err := os.MkdirAll(in.l.dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(in.l.dir, ".register-*")
	if err != nil {
		return err
	}
	path := in.l.fileName(in.owner)
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		_, err = f.WriteString(in.owner)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return fmt.Errorf("lock file %s: %w", path, err)
	}
	in.f, in.path = f, path
	return nil
}

// Renew checks that the file is still there and still the one locked
// (somebody may have removed the directory); if not, it registers again.
func (in *fileInstance) Renew(context.Context) (bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return false, fmt.Errorf("instance %s: registration closed", in.owner)
	}
	mine, err1 := in.f.Stat()
	named, err2 := os.Stat(in.path)
	if err1 == nil && err2 == nil && os.SameFile(mine, named) {
		return false, nil
	}
	_ = in.f.Close()
	return true, in.take()
}

// Close drops the lock, as the process's death does; the file stays for a
// rescuer to find.
func (in *fileInstance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	in.closed = true
	return in.f.Close()
}
