package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// waitFlags are --wait and --timeout of the commands that request a reconcile.
type waitFlags struct {
	enabled bool
	timeout time.Duration
}

func (w *waitFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.enabled, "wait", false, "wait until the controller has handled the request and Ready settles; exit 1 when it is False")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 5*time.Minute, "how long --wait waits")
}

// wait follows the AppSource until the controller has handled the request
// token and its Ready condition is True or False, printing what it waits for
// meanwhile (a rollout in progress, a dependency). It prints the outcome.
func (w *waitFlags) wait(ctx context.Context, g *globals, k *kube, key client.ObjectKey, token string) error {
	if !w.enabled {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	progress := ""
	obj, err := k.waitFor(ctx, key, func(obj *v1alpha1.AppSource) bool {
		if obj.Status.LastHandledReconcileAt != token {
			return false
		}
		ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
		if ready != nil && ready.Status != metav1.ConditionUnknown {
			return true
		}
		if ready != nil && ready.Message != progress {
			progress = ready.Message
			fmt.Fprintf(g.stdout, "waiting: %s\n", progress)
		}
		return false
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s not settled after %s: see 'driftless get %s -n %s'", display(key), w.timeout, key.Name, key.Namespace)
	}
	if err != nil {
		return err
	}
	ready := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition)
	if ready.Status == metav1.ConditionTrue {
		fmt.Fprintln(g.stdout, ready.Message)
		return nil
	}
	return fmt.Errorf("%s is not ready (%s): %s", display(key), ready.Reason, ready.Message)
}

// waitFor watches one AppSource until done says so, and returns it. A
// watch the server closes is resumed from a fresh read.
func (k *kube) waitFor(ctx context.Context, key client.ObjectKey, done func(*v1alpha1.AppSource) bool) (*v1alpha1.AppSource, error) {
	for {
		obj, err := k.get(ctx, key)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, err
		}
		if done(obj) {
			return obj, nil
		}
		obj, err = k.watchOne(ctx, key, obj.ResourceVersion, done)
		if obj != nil || err != nil {
			return obj, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// watchOne returns the first version done accepts, or nil when the watch
// ends first.
func (k *kube) watchOne(ctx context.Context, key client.ObjectKey, rv string, done func(*v1alpha1.AppSource) bool) (*v1alpha1.AppSource, error) {
	w, err := k.client.Watch(ctx, &v1alpha1.AppSourceList{}, &client.ListOptions{
		Namespace:     key.Namespace,
		FieldSelector: fields.OneTermEqualSelector("metadata.name", key.Name),
		Raw:           &metav1.ListOptions{ResourceVersion: rv},
	})
	if err != nil {
		return nil, k.explain(err, key)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		obj, ok := ev.Object.(*v1alpha1.AppSource)
		switch {
		case !ok:
			return nil, nil // an error event: read again
		case ev.Type == watch.Deleted:
			return nil, fmt.Errorf("%s was deleted", display(key))
		case done(obj):
			return obj, nil
		}
	}
	return nil, nil
}
