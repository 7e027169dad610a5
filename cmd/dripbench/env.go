package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver, for creating databases
)

// newDB returns the URL of an empty database for a job: a file in the
// scratch directory, or a new database on the PostgreSQL server.
func (b *bench) newDB(ctx context.Context, kind, name string) (string, error) {
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(b.work, fmt.Sprintf("%s-%d.db", name, b.nextSerial())), nil
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	dbName := "dripbench_" + strings.NewReplacer("-", "_").Replace(name) + "_" + hex.EncodeToString(r[:])
	admin, err := sql.Open("postgres", b.o.pg)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+dbName); err != nil {
		return "", fmt.Errorf("creating database %s: %w", dbName, err)
	}
	b.dbs = append(b.dbs, dbName)
	u, err := url.Parse(b.o.pg)
	if err != nil {
		return "", fmt.Errorf("-pg is not a URL: %w", err)
	}
	u.Path = "/" + dbName
	return u.String(), nil
}

// dropDB removes a job's database (unless -keep).
func (b *bench) dropDB(ctx context.Context, dbURL string) {
	if b.o.keep {
		return
	}
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		return
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("postgres", b.o.pg)
	if err != nil {
		return
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err == nil {
		for i, n := range b.dbs {
			if n == name {
				b.dbs = append(b.dbs[:i], b.dbs[i+1:]...)
				break
			}
		}
	}
}

// cleanup drops the databases left (fixtures, and those of a failed run).
func (b *bench) cleanup() {
	if b.o.keep {
		return
	}
	u, err := url.Parse(b.o.pg)
	if err != nil {
		return
	}
	for _, name := range append([]string(nil), b.dbs...) {
		u.Path = "/" + name
		b.dropDB(context.Background(), u.String())
	}
}

// machine describes where the figures were taken.
type machine struct {
	CPUs       int       `json:"cpus"`
	CPUModel   string    `json:"cpu_model"`
	MemMiB     int64     `json:"mem_mib"`
	Kernel     string    `json:"kernel"`
	Go         string    `json:"go"`
	Postgres   string    `json:"postgres,omitempty"`
	PGSettings string    `json:"pg_settings,omitempty"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	LoadMin    float64   `json:"load1_min"`
	LoadMax    float64   `json:"load1_max"`
	LoadMean   float64   `json:"load1_mean"`

	mu    sync.Mutex
	loads []float64
}

func machineInfo(ctx context.Context, o options) *machine {
	m := &machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Started: time.Now()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.MemMiB = kb >> 10
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if o.pg != "" && strings.Contains(strings.Join(o.stores, ","), "postgres") {
		if db, err := sql.Open("postgres", o.pg); err == nil {
			_ = db.QueryRowContext(ctx, "SHOW server_version").Scan(&m.Postgres)
			var parts []string
			for _, s := range []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level"} {
				var v string
				if db.QueryRowContext(ctx, "SELECT current_setting($1)", s).Scan(&v) == nil {
					parts = append(parts, s+"="+v)
				}
			}
			m.PGSettings = strings.Join(parts, " ")
			db.Close()
		}
	}
	m.sampleLoad()
	return m
}

// sampleLoad records the 1-minute load average now.
func (m *machine) sampleLoad() {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return
	}
	m.mu.Lock()
	m.loads = append(m.loads, v)
	m.mu.Unlock()
}

func (m *machine) finish() {
	m.sampleLoad()
	m.Seconds = time.Since(m.Started).Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.loads) == 0 {
		return
	}
	m.LoadMin, m.LoadMax = m.loads[0], m.loads[0]
	sum := 0.0
	for _, v := range m.loads {
		m.LoadMin, m.LoadMax = min(m.LoadMin, v), max(m.LoadMax, v)
		sum += v
	}
	m.LoadMean = sum / float64(len(m.loads))
}
