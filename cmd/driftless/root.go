package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares, and where output goes.
type globals struct {
	kubeconfig string
	context    string
	namespace  string

	stdout, stderr io.Writer
}

// newRoot builds the command tree; name is "driftless" or, as a kubectl
// plugin, "kubectl driftless".
func newRoot(name string, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "driftless",
		Short: "Build, diff and drive Driftless AppSources",
		Long: `driftless renders AppSources exactly as the Driftless controller does, shows
what applying them would change, lists them, and asks the controller to
reconcile, suspend, resume, promote or abort through the annotations it reads.

Cluster access follows kubectl: --kubeconfig, $KUBECONFIG or ~/.kube/config,
--context and -n/--namespace.`,
		Example: `  driftless build deploy/overlays/prod --age-key-file key.txt
  driftless diff appsource web --path ./deploy/overlays/prod
  driftless get -A --watch
  driftless reconcile web --wait`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: name},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	f := root.PersistentFlags()
	f.StringVar(&g.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&g.context, "context", "", "the kubeconfig context to use (default: its current context)")
	f.StringVarP(&g.namespace, "namespace", "n", "", "namespace of the AppSources (default: the context's)")
	root.AddCommand(newBuild(g), newDiff(g), newGet(g), newHistory(g),
		newReconcile(g), newSuspend(g), newResume(g), newPromote(g), newAbort(g), newPrune(g),
		newInstall(g), newUninstall(g), newCheck(g), newVersion(g))
	if name != "driftless" {
		renameExamples(root, name)
	}
	return root
}

// renameExamples spells every example with the name the command runs as.
func renameExamples(cmd *cobra.Command, name string) {
	cmd.Example = strings.ReplaceAll(cmd.Example, "  driftless ", "  "+name+" ")
	for _, c := range cmd.Commands() {
		renameExamples(c, name)
	}
}
