// Command driftless is the command line of Driftless: it renders and diffs
// AppSources exactly as the controller would, lists them, and asks the
// controller for reconciles, promotions and aborts through the annotations
// the controller reads. Installed as kubectl-driftless it is also a kubectl
// plugin: `kubectl driftless get`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/driftless-dev/driftless/internal/render"
)

func main() {
	render.MaybeServeSandbox() // when started as a render sandbox: render, exit
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, commandName(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commandName is how help and examples spell the command: "kubectl
// driftless" when kubectl runs this binary as a plugin.
func commandName(arg0 string) string {
	if rest, ok := strings.CutPrefix(filepath.Base(arg0), "kubectl-"); ok {
		return "kubectl " + strings.ReplaceAll(rest, "_", "-")
	}
	return "driftless"
}

// run executes one command line and returns the process's exit code.
func run(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	root := newRoot(name, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var exit *exitError
	if errors.As(err, &exit) {
		code, err = exit.code, exit.err
	}
	if err == nil {
		return code
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	var usage *usageError
	if errors.As(err, &usage) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintf(stderr, "See '%s --help'.\n", cmd.CommandPath())
	}
	return code
}

// exitError ends the process with code; a nil err prints nothing, as when
// diff reports changes with exit code 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a command line that does not parse: the help says more.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}
