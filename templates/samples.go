package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// samples are the shipped sequences' templates, embedded so that `drip
// demo` runs from any directory.
//
//go:embed trade-fair fiera
var samples embed.FS

// WriteSamples copies the shipped template folders (trade-fair, fiera)
// into dir.
func WriteSamples(dir string) error {
	return fs.WalkDir(samples, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := samples.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("writing sample template: %w", err)
		}
		return nil
	})
}
