package daemon

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/drip-email/drip/configs"
	"github.com/drip-email/drip/sequencer"
	"github.com/drip-email/drip/templates"
)

// reloadTemplates keeps the running sequences' templates in step with the
// files: it looks every `every` and on hup, and when something changed
// since the fingerprint last (that of the files loaded at start) it loads and checks the new templates; a set that does not check is
// refused (logged) and the previous one stays in use. Changes to a
// sequence's schedule take effect on restart.
func reloadTemplates(ctx context.Context, cfg *configs.Config, seqs map[string]*sequencer.Sequence, last uint64, hup <-chan os.Signal, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
		}
		fp := templatesFingerprint(cfg.TemplatesDir)
		if fp == last {
			continue
		}
		last = fp
		for name, seq := range seqs {
			if ctx.Err() != nil {
				return // shutting down: a slow check must not hold it
			}
			if problems, _ := templates.CheckSequenceContext(ctx, cfg, seq.Config); len(problems) > 0 {
				log.Error("templates changed but do not check; still sending the previous ones",
					"sequence", name, "problem", problems[0], "problems", len(problems))
				continue
			}
			set, err := templates.LoadSet(filepath.Join(cfg.TemplatesDir, seq.Config.Templates), seq.Config)
			if err != nil {
				log.Error("templates changed but do not load; still sending the previous ones", "sequence", name, "err", err)
				continue
			}
			seq.ReloadTemplates(set)
			log.Info("templates reloaded", "sequence", name)
		}
	}
}

// templatesFingerprint changes when any file under dir is added, removed,
// resized or modified.
func templatesFingerprint(dir string) uint64 {
	h := fnv.New64a()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s|%d|%d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return h.Sum64()
}
