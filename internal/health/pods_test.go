package health

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// A Deployment is Ready by its pods when every replica of its current
// template is Ready and no pod of an older template is left, and only
// where that is what its own status will say.
func TestPodsReady(t *testing.T) {
	template := func(image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}
	}
	deployment := func(change func(*appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "d", Generation: 2},
			Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: template("web:2")},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2}}
		if change != nil {
			change(d)
		}
		return d
	}
	owned := func(name string, owner types.UID) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{Name: "web", UID: owner, Controller: ptr.To(true)}}}
	}
	replicaSet := func(name, image string, owner types.UID) appsv1.ReplicaSet {
		t := template(image)
		t.Labels = map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: name}
		return appsv1.ReplicaSet{ObjectMeta: owned(name, owner), Spec: appsv1.ReplicaSetSpec{Template: t}}
	}
	pod := func(rs string, ready bool) corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p := corev1.Pod{ObjectMeta: owned(rs+"-pod", "")}
		p.OwnerReferences[0].Name = rs
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		return p
	}
	terminating := func(p corev1.Pod) corev1.Pod {
		p.DeletionTimestamp = &metav1.Time{}
		return p
	}
	sets := []appsv1.ReplicaSet{replicaSet("old", "web:1", "d"), replicaSet("new", "web:2", "d")}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		sets []appsv1.ReplicaSet
		pods []corev1.Pod
		want bool
	}{
		{"every replica of the current template Ready", deployment(nil), sets, []corev1.Pod{pod("new", true), pod("new", true)}, true},
		{"one replica not Ready", deployment(nil), sets, []corev1.Pod{pod("new", true), pod("new", false)}, false},
		{"one replica missing", deployment(nil), sets, []corev1.Pod{pod("new", true)}, false},
		{"a pod of the older template left", deployment(nil), sets, []corev1.Pod{pod("new", true), pod("new", true), pod("old", true)}, false},
		{"a pod of the older template terminating", deployment(nil), sets, []corev1.Pod{pod("new", true), pod("new", true), terminating(pod("old", true))}, true},
		{"a terminating pod does not count", deployment(nil), sets, []corev1.Pod{pod("new", true), terminating(pod("new", true))}, false},
		{"the current ReplicaSet not made yet", deployment(nil), sets[:1], []corev1.Pod{pod("old", true), pod("old", true)}, false},
		{"a ReplicaSet of another Deployment", deployment(nil), []appsv1.ReplicaSet{replicaSet("new", "web:2", "other")}, []corev1.Pod{pod("new", true), pod("new", true)}, false},
		{"the spec not seen yet", deployment(func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 1 }), sets, []corev1.Pod{pod("new", true), pod("new", true)}, false},
		{"paused", deployment(func(d *appsv1.Deployment) { d.Spec.Paused = true }), sets, []corev1.Pod{pod("new", true), pod("new", true)}, false},
		{"available only after minReadySeconds", deployment(func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 5 }), sets, []corev1.Pod{pod("new", true), pod("new", true)}, false},
		{"scaled to zero", deployment(func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](0) }), sets, nil, true},
	}
	for _, tt := range tests {
		if got := podsReady(tt.d, tt.sets, tt.pods); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
