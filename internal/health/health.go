// Package health evaluates applied objects with kstatus, in one pass that
// reads from a cache and never waits: the caller requeues on InProgress
// and is woken by watches, so no worker is held while a rollout runs.
package health

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Status of one object or of a whole set.
type Status string

// Statuses, from best to worst.
const (
	Current    Status = "Current"    // reconciled and available
	InProgress Status = "InProgress" // on its way; check again when it changes
	Failed     Status = "Failed"     // will not get there without a change
)

// Ref names an object to check.
type Ref struct {
	GroupVersionKind schema.GroupVersionKind
	Namespace, Name  string
	// Generation, when set, is the generation just applied: a cached object
	// of an older generation is InProgress, whatever its status says, since
	// its status describes the spec before the apply.
	Generation int64
	// Applied, when set, is the object as the apply returned it: what the
	// cache will show once its watch event arrives, and so what is
	// evaluated until it does.
	Applied *unstructured.Unstructured
	// ByPods, for a Deployment whose ReplicaSets and pods the reader
	// caches, judges it by its pods while its status lags them (see
	// podsReady).
	ByPods bool
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.GroupVersionKind.Kind + "/" + r.Name
	}
	return r.GroupVersionKind.Kind + "/" + r.Namespace + "/" + r.Name
}

// Result is the status of one object, with kstatus's reason.
type Result struct {
	Ref     Ref
	Status  Status
	Message string
	// Object is the object as read, nil when not found; it may be the
	// cache's own copy: read it, never change it.
	Object *unstructured.Unstructured
}

// Report is the status of every checked object.
type Report []Result

// Checker checks objects and remembers each one's kstatus by resourceVersion:
// an object that has not changed since it was last checked is not
// evaluated again. The zero Checker is ready; it is safe for concurrent use.
type Checker struct {
	mu   sync.Mutex
	seen map[types.UID]evaluated
}

// evaluated is the kstatus of one version of an object.
type evaluated struct {
	resourceVersion string
	status          Status
	message         string
}

// maxRemembered bounds the objects a Checker remembers; past it, it
// forgets them all and starts again.
const maxRemembered = 50_000

// Check reads each object from reader (an informer cache in the controller)
// and computes its kstatus, or its status by rules when they cover its kind. Until the cache has seen an apply, the object
// the apply returned is evaluated instead; without one, an object the cache
// does not hold or holds at an older generation is InProgress: it was just
// applied, and its watch event is on the way.
func (c *Checker) Check(ctx context.Context, reader client.Reader, refs []Ref, rules *Rules) (Report, error) {
	report := make(Report, 0, len(refs))
	for _, ref := range refs {
		gvk := ref.GroupVersionKind
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind}}
		// Read only, never changed: the cache's own copy will do.
		err := reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj, client.UnsafeDisableDeepCopy)
		switch {
		case apierrors.IsNotFound(err):
			obj = nil
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", ref, err)
		}
		if obj == nil || obj.GetGeneration() < ref.Generation {
			switch {
			case ref.Applied != nil:
				obj = ref.Applied
			case obj != nil:
				report = append(report, Result{Ref: ref, Status: InProgress, Message: "the applied change is not in the cache yet", Object: obj})
				continue
			default:
				report = append(report, Result{Ref: ref, Status: InProgress, Message: "not found yet"})
				continue
			}
		}
		res, ruled := rules.evaluate(ref, obj)
		if !ruled {
			res = c.evaluate(ref, obj)
		}
		if res.Status == InProgress && ref.ByPods && gvk.Group == "apps" && gvk.Kind == "Deployment" && obj != ref.Applied {
			ready, err := ReadyByPods(ctx, reader, obj)
			if err != nil {
				return nil, err
			}
			if ready {
				res.Status, res.Message = Current, podsReadyMessage
			}
		}
		res.Object = obj
		report = append(report, res)
	}
	return report, nil
}

// evaluate is Evaluate, once per version of an object.
func (c *Checker) evaluate(ref Ref, obj *unstructured.Unstructured) Result {
	uid, version := obj.GetUID(), obj.GetResourceVersion()
	if uid == "" || version == "" {
		return Evaluate(ref, obj)
	}
	c.mu.Lock()
	e, ok := c.seen[uid]
	c.mu.Unlock()
	if ok && e.resourceVersion == version {
		return Result{Ref: ref, Status: e.status, Message: e.message}
	}
	res := Evaluate(ref, obj)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen) >= maxRemembered {
		c.seen = map[types.UID]evaluated{}
	}
	c.seen[uid] = evaluated{resourceVersion: version, status: res.Status, message: res.Message}
	return res
}

// Evaluate computes the status of one live object.
func Evaluate(ref Ref, obj *unstructured.Unstructured) Result {
	res, err := status.Compute(obj)
	if err != nil {
		return Result{Ref: ref, Status: Failed, Message: "cannot compute status: " + err.Error()}
	}
	switch res.Status {
	case status.CurrentStatus:
		return Result{Ref: ref, Status: Current, Message: res.Message}
	case status.FailedStatus:
		return Result{Ref: ref, Status: Failed, Message: res.Message}
	default: // InProgress, Terminating, Unknown, NotFound
		return Result{Ref: ref, Status: InProgress, Message: res.Message}
	}
}

// Status is Failed if any object failed, InProgress if any is on its way,
// Current otherwise.
func (r Report) Status() Status {
	worst := Current
	for _, res := range r {
		if res.Status == Failed {
			return Failed
		}
		if res.Status == InProgress {
			worst = InProgress
		}
	}
	return worst
}

// Summary names the objects that are not Current, worst first, at most five.
func (r Report) Summary() string {
	var lines []string
	more := 0
	for _, want := range []Status{Failed, InProgress} {
		for _, res := range r {
			switch {
			case res.Status != want:
			case len(lines) == 5:
				more++ // a rollout of 500 Deployments formats five
			default:
				lines = append(lines, fmt.Sprintf("%s %s: %s", res.Ref, res.Status, res.Message))
			}
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("%d objects Current", len(r))
	}
	if more > 0 {
		lines = append(lines, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(lines, "; ")
}
