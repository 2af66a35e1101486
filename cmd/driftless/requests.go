package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// The controller reads requests from annotations, so that kubectl can make
// them too; these commands set them, and change spec.suspend.

func newReconcile(g *globals) *cobra.Command {
	w := &waitFlags{}
	cmd := &cobra.Command{
		Use:   "reconcile [appsource] NAME",
		Short: "Reconcile an AppSource now, without waiting for its interval",
		Long: `Ask the controller to reconcile an AppSource at once: fetch Git, render, apply,
prune and check health. With --wait, follow it until the Ready condition
settles, print its message, and exit 1 when it is False.`,
		Example: `  # Reconcile web now
  driftless reconcile web

  # Reconcile and wait for the outcome, as a CI step would
  driftless reconcile web -n team-a --wait --timeout 10m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, key, obj, err := g.appSource(cmd.Context(), args)
			if err != nil {
				return err
			}
			if obj.Spec.Suspend {
				return fmt.Errorf("%s is suspended: resume it with 'driftless resume %s'", display(key), key.Name)
			}
			token := now()
			if err := k.patch(cmd.Context(), key, annotation(v1alpha1.ReconcileRequestAnnotation, token)); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: reconcile requested\n", display(key))
			return w.wait(cmd.Context(), g, k, key, token)
		},
	}
	w.register(cmd)
	return cmd
}

func newSuspend(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend [appsource] NAME",
		Short: "Stop reconciling an AppSource: nothing is fetched, applied or pruned",
		Example: `  # Freeze web while investigating an incident
  driftless suspend web -n team-a`,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, key, err := g.target(args)
			if err != nil {
				return err
			}
			if err := k.patch(cmd.Context(), key, map[string]any{"spec": map[string]any{"suspend": true}}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s suspended: resume it with 'driftless resume %s'\n", display(key), key.Name)
			return nil
		},
	}
}

func newResume(g *globals) *cobra.Command {
	w := &waitFlags{}
	cmd := &cobra.Command{
		Use:   "resume [appsource] NAME",
		Short: "Resume a suspended AppSource and reconcile it at once",
		Example: `  # Resume web and wait until it is reconciled
  driftless resume web --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, key, err := g.target(args)
			if err != nil {
				return err
			}
			token := now()
			patch := annotation(v1alpha1.ReconcileRequestAnnotation, token)
			patch["spec"] = map[string]any{"suspend": false}
			if err := k.patch(cmd.Context(), key, patch); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s resumed: reconcile requested\n", display(key))
			return w.wait(cmd.Context(), g, k, key, token)
		},
	}
	w.register(cmd)
	return cmd
}

// revisionPattern is what the controller reads as a revision to promote
// rather than as a request to promote what waits: a commit or a revision.
var revisionPattern = regexp.MustCompile(`^([^\s@]+@sha1:)?[0-9a-f]{40}$`)

func newPromote(g *globals) *cobra.Command {
	var revision string
	cmd := &cobra.Command{
		Use:   "promote [appsource] NAME",
		Short: "Promote what an AppSource holds back: a blue-green preview, or a revision",
		Long: `Without --revision, promote what waits for a person: a blue-green release's new
colour, previewed and ready, becomes active. With --revision, promote that
commit even though the AppSources it is promoted after have not run it.`,
		Example: `  # Switch web's active Services to the previewed colour
  driftless promote web

  # Let prod run a commit that staging has not run yet
  driftless promote web-prod --revision main@sha1:4f2c9ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6`,
		RunE: func(cmd *cobra.Command, args []string) error {
			value := now()
			if revision != "" {
				if !revisionPattern.MatchString(revision) {
					return usagef("--revision %q: want a full commit hash (40 lowercase hex digits) or a revision such as main@sha1:<40 hex digits>", revision)
				}
				value = revision
			}
			k, key, err := g.target(args)
			if err != nil {
				return err
			}
			if err := k.patch(cmd.Context(), key, annotation(v1alpha1.PromoteAnnotation, value)); err != nil {
				return err
			}
			if revision != "" {
				fmt.Fprintf(g.stdout, "%s: promotion of %s requested\n", display(key), revision)
			} else {
				fmt.Fprintf(g.stdout, "%s: promotion requested\n", display(key))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&revision, "revision", "", "promote this commit or revision (branch@sha1:<hash>)")
	return cmd
}

func newAbort(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "abort [appsource] NAME",
		Short: "Abort an AppSource's blue-green release: nothing is switched, the new colour scales down",
		Example: `  # Abandon the colour web is previewing
  driftless abort web -n team-a`,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, key, err := g.target(args)
			if err != nil {
				return err
			}
			if err := k.patch(cmd.Context(), key, annotation(v1alpha1.AbortAnnotation, now())); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: abort requested\n", display(key))
			return nil
		},
	}
}

func newPrune(g *globals) *cobra.Command {
	var confirm bool
	cmd := &cobra.Command{
		Use:   "prune [appsource] NAME --confirm",
		Short: "Confirm the deletion of Namespaces, PVCs and CRDs that left Git",
		Long: `Namespaces, PersistentVolumeClaims and CustomResourceDefinitions that leave Git
are not deleted with the rest: they hold data, or everything inside them. The
AppSource lists them in status.pendingPrune (Ready reason
PruneAwaitingConfirmation) until someone confirms. Without --confirm, show
them; with --confirm, delete exactly those at the next reconcile.`,
		Example: `  # What waits for confirmation, then confirm it
  driftless prune web -n team-a
  driftless prune web -n team-a --confirm`,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, key, obj, err := g.appSource(cmd.Context(), args)
			if err != nil {
				return err
			}
			pending := obj.Status.PendingPrune
			if len(pending) == 0 {
				fmt.Fprintf(g.stdout, "%s: nothing waits for confirmation\n", display(key))
				return nil
			}
			if !confirm {
				fmt.Fprintf(g.stdout, "%s: left Git, kept until confirmed:\n  %s\nConfirm with --confirm.\n", display(key), strings.Join(pending, "\n  "))
				return nil
			}
			token := now()
			patch := annotation(v1alpha1.ConfirmPruneAnnotation, token)
			patch["metadata"].(map[string]any)["annotations"].(map[string]any)[v1alpha1.ReconcileRequestAnnotation] = token
			if err := k.patch(cmd.Context(), key, patch); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: deletion confirmed of %s\n", display(key), strings.Join(pending, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm", false, "delete what status.pendingPrune lists")
	return cmd
}

// appSource connects and reads the AppSource of args.
func (g *globals) appSource(ctx context.Context, args []string) (*kube, client.ObjectKey, *v1alpha1.AppSource, error) {
	k, key, err := g.target(args)
	if err != nil {
		return nil, key, nil, err
	}
	obj, err := k.get(ctx, key)
	return k, key, obj, err
}

// target connects and names the AppSource of args.
func (g *globals) target(args []string) (*kube, client.ObjectKey, error) {
	name, err := nameArg(args)
	if err != nil {
		return nil, client.ObjectKey{}, err
	}
	k, err := g.connect()
	if err != nil {
		return nil, client.ObjectKey{}, err
	}
	return k, k.key(name), nil
}

// patch merges fields into an AppSource.
func (k *kube) patch(ctx context.Context, key client.ObjectKey, fields map[string]any) error {
	data, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	obj := &v1alpha1.AppSource{}
	obj.Namespace, obj.Name = key.Namespace, key.Name
	if err := k.client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		return k.explain(err, key)
	}
	return nil
}

func annotation(name, value string) map[string]any {
	return map[string]any{"metadata": map[string]any{"annotations": map[string]any{name: value}}}
}

// now is a request's value: any new value is a new request.
func now() string {
	return time.Now().UTC().Format(time.RFC3339Nano)
}
