package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/version"
)

// bundle is config/default built by hack/bundle (`make generate`).
//
//go:embed install.yaml
var bundle []byte

// The install's names, as config/ sets them.
const (
	systemNamespace = "driftless-system"
	managerName     = "driftless-manager"
	crdName         = "appsources.deploy.driftless.dev"
	installManager  = "driftless-install" // the field manager of install
	defaultImage    = "ghcr.io/driftless-dev/driftless"
)

// bundleObjects returns the objects of the bundle in apply order, the
// manager's image set to image.
func bundleObjects(image string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(bundle), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("embedded bundle: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "Deployment" && u.GetName() == managerName {
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = image
			_ = unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
			labels := u.GetLabels()
			labels["app.kubernetes.io/version"] = version.Get().Version
			u.SetLabels(labels)
		}
		objs = append(objs, u)
	}
}

// imageOf is the manager image matching this CLI: its version's tag.
func imageOf() string {
	v := version.Get().Version
	if v == "devel" {
		v = "latest"
	}
	return defaultImage + ":" + v
}

func newInstall(g *globals) *cobra.Command {
	var export, dryRun bool
	var image string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install Driftless into the current cluster, or print the install",
		Long: `Apply the install bundle embedded in this CLI (config/default: the CRD, the
driftless-system namespace, the manager's least-privilege RBAC, the deployer
account, the manager Deployment, its Services and NetworkPolicy) with
server-side apply, then wait until the CRD is established and the Deployment
is available. Applying again upgrades in place.`,
		Example: `  driftless install
  driftless install --export > driftless.yaml   # for GitOps, or kubectl apply --server-side
  driftless install --dry-run                   # what the API server would accept`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			objs, err := bundleObjects(image)
			if err != nil {
				return err
			}
			if export {
				return printBundle(g.stdout, objs)
			}
			k, err := g.connect()
			if err != nil {
				return err
			}
			return k.install(cmd.Context(), g.stdout, objs, dryRun, timeout)
		},
	}
	cmd.Flags().BoolVar(&export, "export", false, "print the YAML instead of applying it")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "send every object as a server-side dry run: nothing is changed")
	cmd.Flags().StringVar(&image, "image", imageOf(), "the manager's image")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the CRD and the Deployment")
	return cmd
}

func printBundle(w io.Writer, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "---\n%s", data)
	}
	return nil
}

// install applies objs in order; the CRD must be established before
// anything names it, and the Deployment available before install returns.
func (k *kube) install(ctx context.Context, out io.Writer, objs []*unstructured.Unstructured, dryRun bool, timeout time.Duration) error {
	opts := []client.ApplyOption{client.ForceOwnership, client.FieldOwner(installManager)}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	for _, o := range objs {
		err := k.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), opts...)
		if dryRun && apierrors.IsNotFound(err) && o.GetNamespace() == systemNamespace {
			// A dry run creates no namespace to put the rest in.
			fmt.Fprintf(out, "%s not checked (dry run): %s does not exist yet\n", describe(o), systemNamespace)
			continue
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", describe(o), k.explain(err, client.ObjectKey{}))
		}
		verb := "applied"
		if dryRun {
			verb = "accepted (dry run)"
		}
		fmt.Fprintf(out, "%s %s\n", describe(o), verb)
		if o.GetKind() == "CustomResourceDefinition" && !dryRun {
			if err := k.poll(ctx, timeout, "CRD "+o.GetName()+" established", k.crdEstablished); err != nil {
				return err
			}
		}
	}
	if dryRun {
		return nil
	}
	if err := k.poll(ctx, timeout, "Deployment "+systemNamespace+"/"+managerName+" available", k.managerAvailable); err != nil {
		return err
	}
	fmt.Fprintf(out, "Driftless is installed: AppSources in %s are applied as its driftless-deployer account (cluster-wide);\n"+
		"a tenant namespace needs its own driftless-deployer ServiceAccount and RoleBindings (see the README).\n", systemNamespace)
	return nil
}

func describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// poll asks ready every second until it says true, or timeout passes; an
// error only says why it is not ready yet (the object may not exist yet).
func (k *kube) poll(ctx context.Context, timeout time.Duration, what string, ready func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := ready(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		if last == nil {
			last = err
		}
		return fmt.Errorf("waiting for %s: %w", what, last)
	}
	return nil
}

func (k *kube) crdEstablished(ctx context.Context) (bool, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := k.client.Get(ctx, client.ObjectKey{Name: crdName}, crd); err != nil {
		return false, err
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true, nil
		}
	}
	return false, nil
}

func (k *kube) managerAvailable(ctx context.Context) (bool, error) {
	d := &appsv1.Deployment{}
	if err := k.client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: managerName}, d); err != nil {
		return false, err
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == "True" && d.Status.ObservedGeneration >= d.Generation {
			return true, nil
		}
	}
	return false, nil
}

func newUninstall(g *globals) *cobra.Command {
	var yes bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove Driftless and keep everything it deployed",
		Long: `Stop the manager, release every AppSource without pruning (their finalizers are
removed, so nothing they applied is deleted), then delete the CRD with the
AppSources, the manager's RBAC and the driftless-system namespace. The
objects AppSources applied keep running, labelled as they were.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return usagef("uninstall deletes every AppSource (not what they applied): pass --yes to go on")
			}
			k, err := g.connect()
			if err != nil {
				return err
			}
			return k.uninstall(cmd.Context(), g.stdout, timeout)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the manager to stop")
	return cmd
}

func (k *kube) uninstall(ctx context.Context, out io.Writer, timeout time.Duration) error {
	// The manager goes first: once gone, nothing prunes.
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = systemNamespace, managerName
	if err := k.client.Delete(ctx, d); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete the manager: %w", k.explain(err, client.ObjectKey{}))
	}
	if err := k.poll(ctx, timeout, "the manager to stop", func(ctx context.Context) (bool, error) {
		err := k.client.Get(ctx, client.ObjectKeyFromObject(d), &appsv1.Deployment{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "Deployment/%s/%s deleted\n", systemNamespace, managerName)
	var list v1alpha1.AppSourceList
	if err := k.client.List(ctx, &list); err != nil && !isNoMatch(err) {
		return fmt.Errorf("list AppSources: %w", k.explain(err, client.ObjectKey{}))
	}
	for i := range list.Items {
		obj := &list.Items[i]
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if err := k.client.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", patch)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("release AppSource %s/%s: %w", obj.Namespace, obj.Name, err)
		}
	}
	fmt.Fprintf(out, "%d AppSources released: what they applied stays\n", len(list.Items))
	objs, err := bundleObjects(imageOf())
	if err != nil {
		return err
	}
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		if err := k.client.Delete(ctx, o); client.IgnoreNotFound(err) != nil && !isNoMatch(err) {
			return fmt.Errorf("delete %s: %w", describe(o), err)
		}
		fmt.Fprintf(out, "%s deleted\n", describe(o))
	}
	// The CRD goes once its AppSources are gone: a new install must wait.
	if err := k.poll(ctx, timeout, "the CRD and its AppSources to go", func(ctx context.Context) (bool, error) {
		err := k.client.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}); err != nil {
		return err
	}
	fmt.Fprintln(out, "Driftless is uninstalled; the workloads it deployed keep running.")
	return nil
}

// isNoMatch reports an error of a kind the cluster does not serve (any
// more): the AppSource CRD is gone.
func isNoMatch(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsNotFound(err)
}

func newVersion(g *globals) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the CLI's version and the installed manager's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "client: %s\n", version.Get())
			if clientOnly {
				return nil
			}
			k, err := g.connect()
			if err != nil {
				return err
			}
			d := &appsv1.Deployment{}
			if err := k.client.Get(cmd.Context(), client.ObjectKey{Namespace: systemNamespace, Name: managerName}, d); err != nil {
				return fmt.Errorf("manager: %w", k.explain(err, client.ObjectKey{}))
			}
			fmt.Fprintf(g.stdout, "manager: %s (image %s)\n", d.Labels["app.kubernetes.io/version"], d.Spec.Template.Spec.Containers[0].Image)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print the CLI's version only")
	return cmd
}

func newCheck(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the cluster, the installed manager and its permissions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := g.connect()
			if err != nil {
				return err
			}
			return k.check(cmd.Context(), g.stdout)
		},
	}
}

// check reports what an operator asks first, and fails when any is wrong.
func (k *kube) check(ctx context.Context, out io.Writer) error {
	var problems []string
	dc, err := discovery.NewDiscoveryClientForConfig(k.config)
	if err != nil {
		return err
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return fmt.Errorf("cluster: %w", k.explain(err, client.ObjectKey{}))
	}
	fmt.Fprintf(out, "cluster: Kubernetes %s\n", info.GitVersion)
	if ok, err := k.crdEstablished(ctx); !ok {
		problems = append(problems, fmt.Sprintf("CRD %s not established: %v", crdName, err))
	} else {
		fmt.Fprintf(out, "CRD %s: established\n", crdName)
	}
	d := &appsv1.Deployment{}
	if err := k.client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: managerName}, d); err != nil {
		problems = append(problems, fmt.Sprintf("manager: %v", err))
	} else {
		fmt.Fprintf(out, "manager: %s, %d of %d replicas ready\n", d.Labels["app.kubernetes.io/version"], d.Status.ReadyReplicas, d.Status.Replicas)
		if ok, _ := k.managerAvailable(ctx); !ok {
			problems = append(problems, "manager: Deployment not available")
		}
	}
	for _, p := range managerPermissions {
		allowed, err := k.managerMay(ctx, p)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("RBAC %s: %v", p, err))
		case !allowed:
			problems = append(problems, fmt.Sprintf("RBAC: the manager may not %s", p))
		}
	}
	if len(problems) == 0 {
		fmt.Fprintf(out, "RBAC: the manager has the %d permissions it needs\n", len(managerPermissions))
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "\n"))
}
