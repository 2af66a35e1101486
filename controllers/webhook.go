package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// OnPush requests an immediate reconcile of every AppSource that follows the
// repository and ref of a push. It is the webhook receiver's callback, run
// on every replica (pushes of one repository and ref come coalesced). The
// leader queues the reconciles of its shard's AppSources itself; the
// others, and every AppSource when this replica is not the leader, get the
// reconcile-request annotation, which their shard's leader watches, as
// Flux's Receiver does it (see forwardPushes).
func (r *AppSourceReconciler) OnPush(p webhook.Push) {
	leading := r.leading()
	if leading {
		r.queuePush(p)
	}
	select {
	case r.forwards <- forwardedPush{p, leading}:
	default:
		// The AppSources are due anyway: their interval catches the push.
		log.Log.Info("webhook: forwarding queue full, push left to the interval", "receiver", p.Receiver, "ref", p.Ref)
	}
}

// forwardedPush is a push to forward, and whether this replica led when
// it arrived (and so queued its own shard's AppSources).
type forwardedPush struct {
	push    webhook.Push
	leading bool
}

// leading reports whether this replica is the leader (always, without
// leader election).
func (r *AppSourceReconciler) leading() bool {
	if r.elected == nil {
		return true
	}
	select {
	case <-r.elected:
		return true
	default:
		return false
	}
}

// forwardPushes forwards pushes until ctx ends, on every replica. The
// pushes that arrive while it forwards are taken together: a burst of
// pushes (one per repository of a release) costs one paged List of the
// AppSources, not one each.
func (r *AppSourceReconciler) forwardPushes(ctx context.Context) error {
	for {
		var batch []forwardedPush
		select {
		case <-ctx.Done():
			return nil
		case f := <-r.forwards:
			batch = append(batch, f)
		}
		for more := true; more; {
			select {
			case f := <-r.forwards:
				batch = append(batch, f)
			default:
				more = false
			}
		}
		r.forward(ctx, batch)
	}
}

// forward annotates the AppSources following a push of batch that this
// replica did not queue: those of other shards, and all when it did not
// lead. They are read from the API server, a page at a time.
func (r *AppSourceReconciler) forward(ctx context.Context, batch []forwardedPush) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	log := log.FromContext(ctx).WithValues("pushes", len(batch))
	sel := r.otherShards
	if slices.ContainsFunc(batch, func(f forwardedPush) bool { return !f.leading }) {
		sel = labels.Everything()
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.ReconcileRequestAnnotation, now)
	var list v1alpha1.AppSourceList
	for {
		if err := r.Live.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}, client.Limit(500), client.Continue(list.Continue)); err != nil {
			log.Error(err, "webhook: list AppSources to forward pushes to")
			return
		}
		for i := range list.Items {
			obj := &list.Items[i]
			otherShard := r.otherShards.Matches(labels.Set(obj.Labels))
			if !slices.ContainsFunc(batch, func(f forwardedPush) bool { return (!f.leading || otherShard) && follows(obj, f.push) }) {
				continue
			}
			if err := r.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
				log.Error(err, "webhook: request a reconcile", "appsource", obj.Namespace+"/"+obj.Name)
				continue
			}
			pushesForwarded.Inc()
		}
		if list.Continue == "" {
			return
		}
	}
}

// queuePush queues a reconcile of each AppSource of this manager that
// follows p. It writes nothing to the API server.
func (r *AppSourceReconciler) queuePush(p webhook.Push) {
	ctx := context.Background()
	var list v1alpha1.AppSourceList
	// Read only: the cache's own copies will do, and only their names
	// travel on to the queue.
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "webhook: list AppSources")
		return
	}
	for i := range list.Items {
		obj := &list.Items[i]
		if !follows(obj, p) {
			continue
		}
		r.memory.woke(client.ObjectKeyFromObject(obj), byPush)
		select {
		case r.pushes <- event.GenericEvent{Object: obj}:
		default:
			// The queue is full: the AppSource is due anyway, and its
			// interval catches the push if this one is dropped.
			log.FromContext(ctx).Info("webhook: reconcile queue full, push left to the interval", "appsource", obj.Namespace+"/"+obj.Name)
		}
	}
}

// follows reports whether obj watches the repository and ref of p. A semver
// range or a pinned commit may move with any tag push.
func follows(obj *v1alpha1.AppSource, p webhook.Push) bool {
	git := obj.Spec.Source.Git
	if !p.Matches(git.URL) || obj.Spec.Suspend {
		return false
	}
	switch {
	case git.Ref.Branch != "":
		return p.Branch() == git.Ref.Branch
	case git.Ref.Tag != "":
		return p.Tag() == git.Ref.Tag
	default:
		return p.Tag() != ""
	}
}
