package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/driftless-dev/driftless/internal/apply"
)

// Exit codes of diff, for CI: anything else than 0 or 1 is an error.
const (
	diffNone    = 0
	diffChanges = 1
	diffError   = 2
)

type diffOptions struct {
	*globals
	path        string
	ageKeyFiles []string
	output      string
}

func newDiff(g *globals) *cobra.Command {
	o := &diffOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "diff [appsource] NAME",
		Short: "Show what applying an AppSource would change: exit 0 none, 1 changes, 2 error",
		Long: `Render the AppSource as the controller would, from Git or from a local working
copy (--path), and compare it with the cluster through server-side dry-runs
made as the AppSource's own service account. Each object is to be created,
updated (a unified diff of the fields Driftless manages), recreated (an
immutable field changed), pruned (it left Git), or conflicts (another field
manager owns a field Driftless sets). Secret values are redacted.

Exit code 0: no changes; 1: changes; 2: error. --output markdown prints a
pull-request comment. Kustomize, Helm and plain YAML alike.`,
		Example: `  # What the next reconcile of web would change
  driftless diff appsource web -n team-a

  # Preview an uncommitted change of the overlay web renders
  driftless diff appsource web --path ./deploy/overlays/prod

  # In CI: a pull-request comment, and the exit code says whether anything changes
  driftless diff appsource web --path ./deploy/overlays/prod -o markdown > comment.md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	// Every failure of diff, a bad flag included, is exit code 2.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: diffError, err: &usageError{err}}
	})
	f := cmd.Flags()
	f.StringVar(&o.path, "path", "", "render this local directory in place of spec.source.path, instead of fetching Git")
	f.StringArrayVar(&o.ageKeyFiles, "age-key-file", nil, "age identities to decrypt SOPS files with, instead of the AppSource's Secret")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, markdown or json")
	return cmd
}

func (o *diffOptions) run(ctx context.Context, args []string) error {
	diffs, b, err := o.diff(ctx, args)
	if err != nil {
		return &exitError{code: diffError, err: err}
	}
	report := newReport(b, diffs)
	switch o.output {
	case "markdown":
		err = report.markdown(o.stdout)
	case "json":
		err = printData(o.stdout, "json", report.data())
	default:
		err = report.text(o.stdout)
	}
	switch {
	case err != nil:
		return &exitError{code: diffError, err: err}
	case report.changed():
		return &exitError{code: diffChanges}
	}
	return nil
}

// diff builds the AppSource and compares it with the cluster.
func (o *diffOptions) diff(ctx context.Context, args []string) ([]apply.ObjectDiff, *built, error) {
	if err := checkOutput(o.output, "text", "markdown", "json"); err != nil {
		return nil, nil, err
	}
	name, err := nameArg(args)
	if err != nil {
		return nil, nil, err
	}
	k, err := o.connect()
	if err != nil {
		return nil, nil, err
	}
	b, cleanup, err := buildAppSource(ctx, k, k.key(name), o.path, o.ageKeyFiles)
	if err != nil {
		return nil, nil, err
	}
	defer cleanup()
	diffs, err := b.reconciler.Diff(ctx, b.obj, b.Built)
	if err != nil {
		return nil, nil, fmt.Errorf("diff %s: %w", display(k.key(name)), k.explain(err, k.key("")))
	}
	return diffs, b, nil
}

// report is the outcome of a diff, printable three ways.
type report struct {
	name, revision string
	diffs          []apply.ObjectDiff
	counts         map[apply.DiffAction]int
}

func newReport(b *built, diffs []apply.ObjectDiff) *report {
	r := &report{name: b.obj.Namespace + "/" + b.obj.Name, revision: b.Revision, diffs: diffs, counts: map[apply.DiffAction]int{}}
	for _, d := range diffs {
		r.counts[d.Action]++
	}
	return r
}

func (r *report) changed() bool {
	return r.counts[apply.DiffNone] != len(r.diffs)
}

// summary reads "1 to create, 2 to update, 3 unchanged".
func (r *report) summary() string {
	var parts []string
	for _, p := range []struct {
		action apply.DiffAction
		label  string
	}{
		{apply.DiffCreate, "to create"}, {apply.DiffUpdate, "to update"}, {apply.DiffRecreate, "to recreate"},
		{apply.DiffPrune, "to prune"}, {apply.DiffConflict, "in conflict"}, {apply.DiffNone, "unchanged"},
	} {
		if n := r.counts[p.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, p.label))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// text lists each change, with its unified diff, and a summary line.
func (r *report) text(w io.Writer) error {
	for _, d := range r.diffs {
		if d.Action == apply.DiffNone {
			continue
		}
		line := fmt.Sprintf("%-9s %s", d.Action, d.Object)
		if n := note(d); n != "" {
			line += ": " + n
		}
		fmt.Fprintln(w, line)
		if d.Diff != "" {
			fmt.Fprintf(w, "%s\n", d.Diff)
		}
	}
	_, err := fmt.Fprintf(w, "AppSource %s at %s: %s\n", r.name, r.revision, r.summary())
	return err
}

// markdown is a pull-request comment: a table of the changes, then each
// diff folded under its object's name.
func (r *report) markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### Driftless diff of AppSource `%s`\n\n", r.name)
	fmt.Fprintf(&b, "Revision `%s`: **%s**\n", r.revision, r.summary())
	if r.changed() {
		b.WriteString("\n| Action | Object | Note |\n|---|---|---|\n")
		for _, d := range r.diffs {
			if d.Action != apply.DiffNone {
				fmt.Fprintf(&b, "| %s | `%s` | %s |\n", d.Action, d.Object, tableText(note(d)))
			}
		}
	}
	for _, d := range r.diffs {
		if d.Diff == "" || d.Action == apply.DiffNone {
			continue
		}
		fence := "```"
		for strings.Contains(d.Diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "\n<details><summary>%s %s</summary>\n\n%sdiff\n%s%s\n\n</details>\n", d.Action, d.Object, fence, d.Diff, fence)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// note is why an object conflicts or is recreated, without its name
// again.
func note(d apply.ObjectDiff) string {
	return strings.TrimPrefix(d.Message, d.Object+": ")
}

// tableText fits a message into one Markdown table cell.
func tableText(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// data is what -o json prints.
func (r *report) data() any {
	type object struct {
		Object  string `json:"object"`
		Action  string `json:"action"`
		Diff    string `json:"diff,omitempty"`
		Message string `json:"message,omitempty"`
	}
	objects := make([]object, len(r.diffs))
	for i, d := range r.diffs {
		objects[i] = object{Object: d.Object, Action: string(d.Action), Diff: d.Diff, Message: d.Message}
	}
	return map[string]any{"appSource": r.name, "revision": r.revision, "changed": r.changed(), "objects": objects}
}
