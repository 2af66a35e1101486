package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/health"
	"github.com/driftless-dev/driftless/internal/strategy/bluegreen"
)

// blueGreen is what the plan of a blue-green reconcile learned from the
// cluster, for the decision after the apply.
type blueGreen struct {
	obs      bluegreen.Observation
	color    string                       // the render went to this colour
	neutral  []*unstructured.Unstructured // the render before colouring
	idle     []apply.Entry                // the other colour's Deployments
	services []*unstructured.Unstructured // rendered active Services, sorted
}

// plan colours the render for a blue-green release: a render that differs
// from what the active colour runs goes to the idle colour; otherwise it
// stays on the active one. Everything is read back from the cluster, so a
// restarted controller resumes where the last one stopped.
func (r *AppSourceReconciler) plan(ctx context.Context, st *state) error {
	obj := st.obj
	if obj.Spec.Strategy.Type != v1alpha1.StrategyBlueGreen {
		if ro := obj.Status.Rollout; ro != nil && ro.ActiveColor != "" {
			// Leaving blue-green: the colours keep serving, next to the
			// rendered workloads, until those are available.
			st.keep, st.leavingBlueGreen = inventoryOf(obj), true
		}
		return nil
	}
	spec := blueGreenSpec(obj)
	bg := &blueGreen{neutral: st.objects, services: servicesNamed(st.objects, spec.ActiveServices)}
	ro := obj.Status.Rollout
	if ro == nil {
		ro = &v1alpha1.RolloutStatus{}
	}
	o := &bg.obs
	o.Now, o.Held, o.Timeout = time.Now(), st.held != "", r.timeout(obj)
	o.Phase, o.Since = bluegreen.Phase(ro.Phase), since(ro)
	o.AutoPromotion = spec.AutoPromotionEnabled == nil || *spec.AutoPromotionEnabled
	o.AutoPromotionDelay = seconds(spec.AutoPromotionSeconds)
	o.ScaleDownDelay, o.AbortScaleDownDelay = seconds(spec.ScaleDownDelaySeconds), seconds(spec.AbortScaleDownDelaySeconds)

	colors, err := r.selectedColors(ctx, bg.services)
	if err != nil {
		return failed(v1alpha1.ApplyFailedReason, err)
	}
	switch {
	case len(colors) == 0:
		o.Active = ro.ActiveColor
	case len(colors) == 1:
		o.Active = colors[0]
	default:
		// A switch cut short. Services switch in a fixed order, so the
		// first ones select its target and the last the colour it leaves:
		// the status, written at the end of a reconcile, may not know it.
		o.Switching, o.Target, o.Active = true, colors[0], colors[len(colors)-1]
	}
	release, err := bluegreen.Release(st.objects)
	if err != nil {
		return failed(v1alpha1.BuildFailedReason, err)
	}
	live, err := r.colorCopies(ctx, st.objects)
	if err != nil {
		return failed(v1alpha1.ApplyFailedReason, err)
	}
	o.NewRelease = o.Active != "" && !live.runs(o.Active, release)
	if o.NewRelease && !o.Held && ro.Revision != st.revision {
		o.Phase = "" // a new release, or one that supersedes another, starts now
	}
	bg.color = plannedColor(o)
	idle := bluegreen.Other(bg.color)
	bg.idle, o.IdleReplicas = live.entries(idle), live.replicas(idle)
	r.consumeRequests(st, o)

	opts := bluegreen.Options{Color: bg.color, ActiveColor: o.Active, PreviewColor: bg.color,
		ActiveServices: spec.ActiveServices, PreviewServices: spec.PreviewServices, Replicas: live.sizes(o.Active)}
	if o.Active == "" || o.Switching {
		opts.ActiveColor, opts.ActiveServices = "", nil
	}
	out, _, err := bluegreen.Colorize(st.objects, opts)
	if err != nil {
		return failed(v1alpha1.BuildFailedReason, err)
	}
	if o.Switching {
		// The active Services stay as the cut-short switch left them until
		// switchServices ends it, in order: applied as rendered, without a
		// colour, they would select both colours at once.
		switching := servicesNamed(out, spec.ActiveServices)
		out = slices.DeleteFunc(out, func(u *unstructured.Unstructured) bool { return slices.Contains(switching, u) })
	}
	st.objects, st.blueGreen = out, bg
	st.planned = fmt.Sprint(opts.Color, opts.ActiveColor, opts.PreviewColor, opts.Replicas)
	if o.Active == "" || o.NewRelease || o.Switching {
		st.keep = inventoryOf(obj) // nothing is pruned until the switch
	} else {
		st.keep = live.kept(idle, inventoryOf(obj))
	}
	return nil
}

// plannedColor is the colour Decide will apply the render to.
func plannedColor(o *bluegreen.Observation) string {
	switch {
	case o.Switching:
		return o.Target
	case o.Active == "":
		return bluegreen.Blue
	case o.NewRelease:
		return bluegreen.Other(o.Active)
	}
	return o.Active
}

// consumeRequests reads the promote and abort annotations. A new release
// sets aside requests made before it, so that an old "promote" never
// promotes a release nobody has seen.
func (r *AppSourceReconciler) consumeRequests(st *state, o *bluegreen.Observation) {
	s := &st.obj.Status
	promote, abort := st.obj.Annotations[v1alpha1.PromoteAnnotation], st.obj.Annotations[v1alpha1.AbortAnnotation]
	if o.NewRelease && o.Phase == "" {
		s.LastHandledPromoteAt, s.LastHandledAbortAt = promote, abort
	}
	o.PromoteRequested = promote != "" && promote != s.LastHandledPromoteAt
	o.AbortRequested = abort != "" && abort != s.LastHandledAbortAt
}

// advanceBlueGreen decides the next step of the release from the health of
// what was applied, and takes it: switch the active Services, scale the
// idle colour down, or abort.
func (r *AppSourceReconciler) advanceBlueGreen(ctx context.Context, st *state, report health.Report) error {
	bg, obj := st.blueGreen, st.obj
	bg.obs.Health, bg.obs.Message = bluegreen.Health(report.Status()), report.Summary()
	d := bluegreen.Decide(bg.obs)
	if d.Switch {
		if err := r.switchServices(ctx, st, d); err != nil {
			return failed(v1alpha1.ApplyFailedReason, err)
		}
		if bg.obs.PromoteRequested {
			obj.Status.LastHandledPromoteAt = obj.Annotations[v1alpha1.PromoteAnnotation]
		}
	}
	if d.ScaleDownIdle {
		r.Failpoints.hit("scale-down")
		if err := r.Apply.Scale(ctx, bg.idle, 0, r.applyOptions(obj)); err != nil {
			return failed(v1alpha1.ApplyFailedReason, err)
		}
		r.event(obj, corev1.EventTypeNormal, "ScaledDown", "scaled %s down to 0", bluegreen.Other(d.Color))
	}
	revision := st.revision
	if bg.obs.Held {
		revision, d.Message = obj.Status.Rollout.Revision, obj.Status.Rollout.Message
	}
	setRollout(obj, v1alpha1.RolloutPhase(d.Phase), revision, d.Message, workloads(report))
	ro := obj.Status.Rollout
	if d.ActiveColor != "" {
		ro.ActiveColor = d.ActiveColor
	}
	ro.PreviewColor = d.PreviewColor
	st.recheckWithin(d.RecheckAfter)
	switch {
	case bg.obs.Held:
		return failed(ro.Phase.Reason(), fmt.Errorf("revision %s was aborted and is held until Git moves past it; running %s on %s",
			st.held, st.revision, ro.ActiveColor))
	case d.Hold:
		ro.HeldRevision = st.revision
		if bg.obs.AbortRequested {
			obj.Status.LastHandledAbortAt = obj.Annotations[v1alpha1.AbortAnnotation]
		}
		return failed(v1alpha1.AbortedReason, fmt.Errorf("revision %s: %s", st.revision, d.Message))
	case d.Phase == bluegreen.Progressing || d.Phase == bluegreen.Previewing:
		after := d.RecheckAfter
		if after == 0 {
			after = obj.Spec.Interval.Duration // the promote annotation wakes it sooner
		}
		return waiting(v1alpha1.ProgressingReason, after, "%s", d.Message)
	}
	if err := r.postHooks(ctx, st); err != nil {
		return err
	}
	r.memory.markGood(client.ObjectKeyFromObject(obj), st.inputs)
	return nil
}

// switchServices points every active Service at the decided colour, one at
// a time in a fixed order, then applies what else the switch changes of the
// render (preview Services, autoscalers): only that, since the endpoints of
// the switched Services are being written meanwhile.
func (r *AppSourceReconciler) switchServices(ctx context.Context, st *state, d bluegreen.Decision) error {
	spec := blueGreenSpec(st.obj)
	out, _, err := bluegreen.Colorize(st.blueGreen.neutral, bluegreen.Options{
		Color: d.Color, ActiveColor: d.ActiveColor, PreviewColor: d.PreviewColor,
		ActiveServices: spec.ActiveServices, PreviewServices: spec.PreviewServices,
	})
	if err != nil {
		return err
	}
	opts := r.applyOptions(st.obj)
	switched := servicesNamed(out, spec.ActiveServices)
	for i, svc := range switched {
		changes, err := r.Apply.Apply(ctx, []*unstructured.Unstructured{svc}, opts)
		st.changes = append(st.changes, changes...)
		if err != nil {
			return fmt.Errorf("switch %s to %s: %w", apply.Describe(svc), d.ActiveColor, err)
		}
		r.event(st.obj, corev1.EventTypeNormal, "Switched", "%s selects %s", apply.Describe(svc), d.ActiveColor)
		r.Failpoints.hit(fmt.Sprintf("switch@%d", i+1))
	}
	changes, err := r.Apply.Apply(ctx, changed(append(st.objects, switched...), out), opts)
	st.changes = append(st.changes, changes...)
	st.objects = out
	return err
}

// changed returns the objects of after that before does not hold as they are.
func changed(before, after []*unstructured.Unstructured) []*unstructured.Unstructured {
	had := make(map[apply.Entry]*unstructured.Unstructured, len(before))
	for _, o := range before {
		had[apply.EntryFor(o)] = o
	}
	var out []*unstructured.Unstructured
	for _, o := range after {
		if b, ok := had[apply.EntryFor(o)]; !ok || !equality.Semantic.DeepEqual(b.Object, o.Object) {
			out = append(out, o)
		}
	}
	return out
}

// selectedColors lists the distinct colours the live active Services select,
// "" for one that selects none; a Service not created yet counts for nothing.
func (r *AppSourceReconciler) selectedColors(ctx context.Context, services []*unstructured.Unstructured) ([]string, error) {
	var colors []string
	for _, s := range services {
		live := &corev1.Service{}
		err := r.Cache.Get(ctx, client.ObjectKeyFromObject(s), live)
		if client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("read %s: %w", apply.Describe(s), err)
		}
		if err == nil && !slices.Contains(colors, live.Spec.Selector[bluegreen.ColorLabel]) {
			colors = append(colors, live.Spec.Selector[bluegreen.ColorLabel])
		}
	}
	return colors, nil
}

// servicesNamed returns the Services of objs with one of names, sorted by
// namespace and name: the order in which they are switched.
func servicesNamed(objs []*unstructured.Unstructured, names []string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Service" && o.GetAPIVersion() == "v1" && slices.Contains(names, o.GetName()) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(a.GetNamespace()+"/"+a.GetName(), b.GetNamespace()+"/"+b.GetName())
	})
	return out
}

// colorCopies are the live colour copies of the rendered Deployments.
type colorCopies struct {
	workloads  int                                     // rendered Deployments
	autoscaled map[string]bool                         // rendered Deployments an HPA scales
	byColor    map[string][]*unstructured.Unstructured // live copies
}

func (r *AppSourceReconciler) colorCopies(ctx context.Context, objs []*unstructured.Unstructured) (colorCopies, error) {
	workloads := bluegreen.Workloads(objs)
	out := colorCopies{workloads: len(workloads), autoscaled: autoscaled(objs), byColor: map[string][]*unstructured.Unstructured{}}
	for _, w := range workloads {
		ns, name, _ := strings.Cut(w, "/")
		for _, c := range []string{bluegreen.Blue, bluegreen.Green} {
			live := &unstructured.Unstructured{}
			live.SetAPIVersion("apps/v1")
			live.SetKind("Deployment")
			err := r.Cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: bluegreen.Name(name, c)}, live)
			if client.IgnoreNotFound(err) != nil {
				return out, fmt.Errorf("read Deployment/%s/%s: %w", ns, bluegreen.Name(name, c), err)
			}
			if err == nil {
				out.byColor[c] = append(out.byColor[c], live)
			}
		}
	}
	return out, nil
}

// runs reports whether color runs release in every rendered Deployment.
func (c colorCopies) runs(color, release string) bool {
	copies := c.byColor[color]
	if len(copies) != c.workloads {
		return false
	}
	for _, d := range copies {
		if d.GetAnnotations()[bluegreen.ReleaseAnnotation] != release {
			return false
		}
	}
	return true
}

func (c colorCopies) entries(color string) []apply.Entry {
	var out []apply.Entry
	for _, d := range c.byColor[color] {
		out = append(out, apply.EntryFor(d))
	}
	return out
}

// replicas is how many replicas color's Deployments ask for together.
func (c colorCopies) replicas(color string) int32 {
	var n int64
	for _, d := range c.byColor[color] {
		r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		n += r
	}
	return int32(n)
}

// sizes are the live replicas of color's autoscaled Deployments, by the
// rendered name: a new colour starts at the size the autoscaler chose.
func (c colorCopies) sizes(color string) map[string]int32 {
	out := map[string]int32{}
	for _, d := range c.byColor[color] {
		key := d.GetNamespace() + "/" + strings.TrimSuffix(d.GetName(), "-"+color)
		if r, ok, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); ok && c.autoscaled[key] {
			out[key] = int32(r)
		}
	}
	return out
}

// kept is what the inventory keeps of color while it is idle: its
// Deployments and the ConfigMap and Secret copies they refer to.
func (c colorCopies) kept(color string, inventory []apply.Entry) []apply.Entry {
	out := c.entries(color)
	for _, d := range c.byColor[color] {
		configMaps, secrets := bluegreen.References(d)
		for kind, names := range map[string][]string{"ConfigMap": configMaps, "Secret": secrets} {
			for _, name := range names {
				e := apply.EntryFor(stub("v1", kind, d.GetNamespace(), name))
				if strings.HasSuffix(name, "-"+color) && slices.Contains(inventory, e) {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// autoscaled lists the rendered Deployments a HorizontalPodAutoscaler scales.
func autoscaled(objs []*unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if kind == "Deployment" {
			out[o.GetNamespace()+"/"+name] = true
		}
	}
	return out
}

func stub(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// blueGreenSpec is the AppSource's blue-green settings, with the API's
// defaults when the block is left out.
func blueGreenSpec(obj *v1alpha1.AppSource) v1alpha1.BlueGreenStrategy {
	if b := obj.Spec.Strategy.BlueGreen; b != nil {
		return *b
	}
	return v1alpha1.BlueGreenStrategy{ScaleDownDelaySeconds: 30, AbortScaleDownDelaySeconds: 30}
}

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

// since is when the rollout entered its phase.
func since(ro *v1alpha1.RolloutStatus) time.Time {
	if ro.LastTransitionTime == nil {
		return time.Time{}
	}
	return ro.LastTransitionTime.Time
}

// event emits an event on obj when a recorder is set.
func (r *AppSourceReconciler) event(obj *v1alpha1.AppSource, kind, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, kind, reason, "Rollout", format, args...)
	}
}
