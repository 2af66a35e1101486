package health

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The pod view of a Deployment. A Deployment's status says that its new
// pods are Ready two controller hops after they are (the ReplicaSet
// controller's, then the Deployment controller's: about 15 ms on a quiet
// cluster, far more on a busy one), and a Service routes by pod readiness
// alone. A blue-green switch need not wait for those hops: it reads the
// pods, as the EndpointSlice controller does.

// podsReadyMessage is the message of a Deployment found Current by its pods.
const podsReadyMessage = "every replica of the current template Ready (the Deployment's status follows)"

// ReadyByPods reads the ReplicaSets and pods of dep from reader, which
// must cache them, and tells whether dep is Current by them (see
// podsReady).
func ReadyByPods(ctx context.Context, reader client.Reader, dep *unstructured.Unstructured) (bool, error) {
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(dep.Object, &d); err != nil {
		return false, fmt.Errorf("read Deployment/%s/%s: %w", dep.GetNamespace(), dep.GetName(), err)
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		return false, nil // the API server refuses both; nothing to judge by
	}
	in := []client.ListOption{client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: selector}}
	var sets appsv1.ReplicaSetList
	if err := reader.List(ctx, &sets, in...); err != nil {
		return false, fmt.Errorf("list the ReplicaSets of Deployment/%s/%s: %w", d.Namespace, d.Name, err)
	}
	var pods corev1.PodList
	if err := reader.List(ctx, &pods, in...); err != nil {
		return false, fmt.Errorf("list the pods of Deployment/%s/%s: %w", d.Namespace, d.Name, err)
	}
	return podsReady(&d, sets.Items, pods.Items), nil
}

// podsReady tells whether every replica of d's current template is Ready
// and no pod of an older template is left, when that is what availability
// means: the Deployment controller has seen d's spec (so its current
// ReplicaSet exists), d is not paused, and a pod is available as soon as
// it is Ready (no minReadySeconds).
func podsReady(d *appsv1.Deployment, sets []appsv1.ReplicaSet, pods []corev1.Pod) bool {
	if d.Status.ObservedGeneration != d.Generation || d.Spec.Paused || d.Spec.MinReadySeconds > 0 {
		return false
	}
	current, owned := "", map[string]bool{}
	for i := range sets {
		rs := &sets[i]
		if !metav1.IsControlledBy(rs, d) {
			continue
		}
		owned[rs.Name] = true
		if sameTemplate(rs.Spec.Template, d.Spec.Template) {
			current = rs.Name
		}
	}
	if current == "" {
		return false
	}
	var ready int32
	for i := range pods {
		p := &pods[i]
		owner := metav1.GetControllerOf(p)
		if owner == nil || !owned[owner.Name] || p.DeletionTimestamp != nil {
			continue
		}
		if owner.Name != current {
			return false // a pod of an older template still runs
		}
		if PodReady(p) {
			ready++
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return ready >= want
}

// sameTemplate compares a ReplicaSet's pod template with a Deployment's,
// as the Deployment controller finds its current ReplicaSet: without the
// pod-template-hash label it adds.
func sameTemplate(rs, d corev1.PodTemplateSpec) bool {
	labels := make(map[string]string, len(rs.Labels))
	for k, v := range rs.Labels {
		if k != appsv1.DefaultDeploymentUniqueLabelKey {
			labels[k] = v
		}
	}
	rs.Labels = labels
	return apiequality.Semantic.DeepEqual(rs, d)
}

// PodReady tells whether p's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// SlimPod keeps of a cached pod what podsReady reads: its identity, labels
// and owners, and its Ready condition.
func SlimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	var conditions []corev1.PodCondition
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			conditions = append(conditions, corev1.PodCondition{Type: c.Type, Status: c.Status})
		}
	}
	m := p.ObjectMeta
	p.ObjectMeta = metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Labels: m.Labels, OwnerReferences: m.OwnerReferences, DeletionTimestamp: m.DeletionTimestamp}
	p.Spec, p.Status = corev1.PodSpec{}, corev1.PodStatus{Conditions: conditions}
	return p, nil
}
