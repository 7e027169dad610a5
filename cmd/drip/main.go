// Command drip is the drip-sequence email engine: one binary, one
// subcommand per job. This is the only place where concrete types are wired
// together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata" // IANA zones even on machines without /usr/share/zoneinfo
)

// command is one subcommand.
type command struct {
	name    string
	args    string // usage after the name, e.g. "[flags] FILE.csv"
	summary string
	// setup declares the command's flags on fs and returns the function that runs it.
	setup func(fs *flag.FlagSet, g *globals) func(ctx context.Context, args []string) error
}

// globals are the flags every command takes.
type globals struct {
	config    string
	logFormat string
	logLevel  string
	stdout    io.Writer
	stderr    io.Writer
}

// usageError is a bad invocation: its message is followed by the usage line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitError carries a specific exit status with an already-printed result
// (e.g. import with rejected rows exits 1 after its summary).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

var commands []*command

func register(c *command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		printHelp(stdout)
		return 0
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "drip: unknown command %q (run `drip help` for the list)\n", args[0])
		return 2
	}

	g := &globals{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("drip "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defConfig := "configs/drip.yaml"
	if env := os.Getenv("DRIP_CONFIG"); env != "" {
		defConfig = env
	}
	fs.StringVar(&g.config, "config", defConfig, "configuration `FILE` (or $DRIP_CONFIG)")
	fs.StringVar(&g.config, "c", defConfig, "shorthand for --config")
	fs.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	exec := cmd.setup(fs, g)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: drip %s %s\n\n%s\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2 // the flag package has printed the problem and the usage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = exec(ctx, positional)
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "drip %s: %s\nusage: drip %s %s (see drip %s -h)\n", cmd.name, ue.msg, cmd.name, cmd.args, cmd.name)
		return 2
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "drip %s: %s\n", cmd.name, ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "drip %s: %s\n", cmd.name, oneLine(err.Error()))
		return 1
	}
}

// parseInterspersed parses flags that may come after positional arguments
// (`drip import list.csv --dry-run`), which the flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// oneLine keeps an error on one line: the contract promises one clear line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "\n") {
		lines := strings.Split(s, "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		s = strings.Join(lines, "; ")
	}
	return s
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "drip — drip-sequence email engine for sales follow-up")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: drip COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes -c/--config FILE (default configs/drip.yaml, or $DRIP_CONFIG).")
	fmt.Fprintln(w, "`drip COMMAND -h` explains every flag of a command.")
}
