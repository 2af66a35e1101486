package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/webhook"
)

// OnPush requests an immediate reconcile of every AppSource that follows the
// repository and ref of a push. It is the webhook receiver's callback: it
// writes nothing to the API server, it only queues reconciles.
func (r *AppSourceReconciler) OnPush(p webhook.Push) {
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
