package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/spf13/cobra"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

type getOptions struct {
	*globals
	all    bool
	output string
	watch  bool
}

func newGet(g *globals) *cobra.Command {
	o := &getOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "get [appsources] [NAME...]",
		Short: "List AppSources: readiness, revision, rollout and promotion order",
		Long: `List AppSources with their Ready condition, applied revision, strategy,
rollout phase, the AppSources they are promoted after, age and message.
Within a namespace, an AppSource is listed after those it is promoted after,
so a chain dev → staging → prod reads top to bottom.`,
		Example: `  # AppSources of the current namespace
  driftless get

  # Every namespace, re-printed whenever one changes
  driftless get -A --watch

  # One AppSource as YAML
  driftless get appsource web -n team-a -o yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && kinds[strings.ToLower(args[0])] {
				args = args[1:]
			}
			return o.run(cmd.Context(), args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all-namespaces", "A", false, "list the AppSources of every namespace")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, yaml or json")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, print the table again whenever an AppSource changes")
	return cmd
}

func (o *getOptions) run(ctx context.Context, names []string) error {
	if err := checkOutput(o.output, "table", "yaml", "json"); err != nil {
		return err
	}
	if o.watch && o.output != "table" {
		return usagef("--watch prints tables: drop --output %s", o.output)
	}
	k, err := o.connect()
	if err != nil {
		return err
	}
	items, rv, err := o.list(ctx, k, names)
	if err != nil {
		return err
	}
	if o.watch {
		return o.follow(ctx, k, names, items, rv)
	}
	if o.output != "table" {
		return printData(o.stdout, o.output, asList(items, len(names) == 1))
	}
	if len(items) == 0 {
		fmt.Fprintln(o.stderr, o.nothingFound(k))
		return nil
	}
	return printTable(o.stdout, o.header(), o.rows(items, time.Now()))
}

// list reads the AppSources, all of them or those named, and the list's
// resource version to watch from.
func (o *getOptions) list(ctx context.Context, k *kube, names []string) ([]v1alpha1.AppSource, string, error) {
	var list v1alpha1.AppSourceList
	var opts []client.ListOption
	if !o.all {
		opts = append(opts, client.InNamespace(k.namespace))
	}
	if err := k.client.List(ctx, &list, opts...); err != nil {
		return nil, "", k.explain(err, client.ObjectKey{})
	}
	if len(names) == 0 {
		return list.Items, list.ResourceVersion, nil
	}
	var out []v1alpha1.AppSource
	for _, name := range names {
		n := len(out)
		for _, item := range list.Items {
			if item.Name == name {
				out = append(out, item)
			}
		}
		if n == len(out) {
			return nil, "", k.explain(notFound(name), k.key(name))
		}
	}
	return out, list.ResourceVersion, nil
}

func (o *getOptions) nothingFound(k *kube) string {
	if o.all {
		return "No AppSources found."
	}
	return fmt.Sprintf("No AppSources found in namespace %q.", k.namespace)
}

func (o *getOptions) header() []string {
	h := []string{"NAME", "READY", "REVISION", "STRATEGY", "PHASE", "AFTER", "AGE", "MESSAGE"}
	if o.all {
		h = append([]string{"NAMESPACE"}, h...)
	}
	return h
}

// rows are the table's rows in promotion order within each namespace.
func (o *getOptions) rows(items []v1alpha1.AppSource, now time.Time) [][]string {
	items = promotionOrder(items)
	rows := make([][]string, 0, len(items))
	for i := range items {
		row := appSourceRow(&items[i], now)
		if o.all {
			row = append([]string{items[i].Namespace}, row...)
		}
		rows = append(rows, row)
	}
	return rows
}

func appSourceRow(obj *v1alpha1.AppSource, now time.Time) []string {
	ready, msg := "Unknown", ""
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition); c != nil {
		ready, msg = string(c.Status), c.Message
	}
	if obj.Spec.Suspend && !strings.Contains(msg, "suspended") {
		msg = "suspended; " + msg
	}
	strategy := string(obj.Spec.Strategy.Type)
	if strategy == "" {
		strategy = string(v1alpha1.StrategyRolling)
	}
	phase := ""
	if obj.Status.Rollout != nil {
		phase = string(obj.Status.Rollout.Phase)
	}
	return []string{obj.Name, ready, shortRevision(obj.Status.LastAppliedRevision), strategy, cell(phase),
		cell(after(obj)), since(obj.CreationTimestamp.Time, now), cell(msg)}
}

// after names the AppSources obj is promoted after; other namespaces'
// with their namespace.
func after(obj *v1alpha1.AppSource) string {
	if obj.Spec.Promotion == nil {
		return ""
	}
	names := make([]string, 0, len(obj.Spec.Promotion.After))
	for _, ref := range obj.Spec.Promotion.After {
		if ref.Namespace != "" && ref.Namespace != obj.Namespace {
			names = append(names, ref.Namespace+"/"+ref.Name)
		} else {
			names = append(names, ref.Name)
		}
	}
	return strings.Join(names, ",")
}

// promotionOrder sorts by namespace, then by how many promotions stand
// before an AppSource, then by name: dev, staging, prod.
func promotionOrder(items []v1alpha1.AppSource) []v1alpha1.AppSource {
	byKey := map[client.ObjectKey]*v1alpha1.AppSource{}
	for i := range items {
		byKey[client.ObjectKeyFromObject(&items[i])] = &items[i]
	}
	depth := map[client.ObjectKey]int{}
	var depthOf func(key client.ObjectKey, seen int) int
	depthOf = func(key client.ObjectKey, seen int) int {
		obj, ok := byKey[key]
		if !ok || obj.Spec.Promotion == nil || seen > len(items) { // a cycle ends at the bound
			return 0
		}
		if d, ok := depth[key]; ok {
			return d
		}
		d := 0
		for _, ref := range obj.Spec.Promotion.After {
			up := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
			if up.Namespace == "" {
				up.Namespace = obj.Namespace
			}
			if _, listed := byKey[up]; listed {
				d = max(d, depthOf(up, seen+1)+1)
			}
		}
		depth[key] = d
		return d
	}
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b v1alpha1.AppSource) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		da, db := depthOf(client.ObjectKeyFromObject(&a), 0), depthOf(client.ObjectKeyFromObject(&b), 0)
		if da != db {
			return da - db
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// follow prints the table, then again each time a change shows in it.
// A watch that ends (the server closes them now and then) is resumed from
// a fresh list; only an interrupt ends follow.
func (o *getOptions) follow(ctx context.Context, k *kube, names []string, items []v1alpha1.AppSource, rv string) error {
	last := ""
	for {
		current := map[client.ObjectKey]v1alpha1.AppSource{}
		for _, item := range items {
			current[client.ObjectKeyFromObject(&item)] = item
		}
		last = o.printIfChanged(current, last)
		o.watchUntilClosed(ctx, k, names, rv, current, &last)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second): // never a tight loop against a failing server
		}
		var err error
		if items, rv, err = o.list(ctx, k, nil); err != nil {
			return err
		}
		items = named(items, names)
	}
}

// watchUntilClosed applies watch events to current, printing on changes.
func (o *getOptions) watchUntilClosed(ctx context.Context, k *kube, names []string, rv string,
	current map[client.ObjectKey]v1alpha1.AppSource, last *string) {
	opts := &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}}
	if !o.all {
		opts.Namespace = k.namespace
	}
	w, err := k.client.Watch(ctx, &v1alpha1.AppSourceList{}, opts)
	if err != nil {
		return
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		obj, ok := ev.Object.(*v1alpha1.AppSource)
		if !ok {
			return // an error event: list again
		}
		if len(names) > 0 && !slices.Contains(names, obj.Name) {
			continue
		}
		if ev.Type == watch.Deleted {
			delete(current, client.ObjectKeyFromObject(obj))
		} else {
			current[client.ObjectKeyFromObject(obj)] = *obj
		}
		*last = o.printIfChanged(current, *last)
	}
}

// printIfChanged prints the table of current unless it reads as last did
// (ages aside), and returns what it compared.
func (o *getOptions) printIfChanged(current map[client.ObjectKey]v1alpha1.AppSource, last string) string {
	items := make([]v1alpha1.AppSource, 0, len(current))
	for _, item := range current {
		items = append(items, item)
	}
	rows := o.rows(items, time.Now())
	ageColumn := slices.Index(o.header(), "AGE")
	var b strings.Builder
	b.WriteString("table\n") // never empty, unlike last before the first print
	for _, r := range rows {
		b.WriteString(strings.Join(slices.Delete(slices.Clone(r), ageColumn, ageColumn+1), "\t") + "\n")
	}
	if b.String() == last {
		return last
	}
	if last != "" {
		fmt.Fprintln(o.stdout)
	}
	if len(rows) == 0 {
		fmt.Fprintln(o.stdout, "No AppSources.")
	} else {
		_ = printTable(o.stdout, o.header(), rows)
	}
	return b.String()
}

func named(items []v1alpha1.AppSource, names []string) []v1alpha1.AppSource {
	if len(names) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(a v1alpha1.AppSource) bool { return !slices.Contains(names, a.Name) })
}

// asList is what -o yaml and json print: the object itself for one name,
// otherwise a List, as kubectl prints them.
func asList(items []v1alpha1.AppSource, single bool) any {
	out := make([]v1alpha1.AppSource, len(items))
	for i, item := range items {
		item.APIVersion, item.Kind = v1alpha1.GroupVersion.String(), "AppSource"
		item.ManagedFields = nil
		out[i] = item
	}
	if single && len(out) == 1 {
		return out[0]
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": out}
}
