package e2e

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The control plane is real when Deployments roll the way Kubernetes rolls
// them and Services follow ready pods.
func TestControlPlaneRollsDeploymentsAndServicesFollow(t *testing.T) {
	ns := newNamespace(t)
	ctx := t.Context()
	deploy := webDeployment(ns, "example.com/web:1")
	if err := k8s.Create(ctx, deploy); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if err := k8s.Create(ctx, svc); err != nil {
		t.Fatalf("create service: %v", err)
	}
	waitRolledOut(t, deploy, 10)
	eventually(t, time.Minute, "EndpointSlices list the 10 ready pods", func(ctx context.Context) (bool, error) {
		ready, err := readyPodIPs(ctx, ns)
		if err != nil || len(ready) != 10 {
			return false, err
		}
		endpoints, err := readyEndpointIPs(ctx, ns, "web")
		return slices.Equal(ready, endpoints), err
	})

	counts := watchPods(t, ns)
	if err := get(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	deploy.Spec.Template.Spec.Containers[0].Image = "example.com/web:2"
	if err := k8s.Update(ctx, deploy); err != nil {
		t.Fatalf("change image: %v", err)
	}
	waitRolledOut(t, deploy, 10)

	maxPods, minAvailable, samples := counts()
	t.Logf("rolling update: %d events, at most %d pods asked for, at least %d available", samples, maxPods, minAvailable)
	// maxSurge 30% of 10 rounds up to 3, maxUnavailable 20% rounds down to 2.
	if maxPods > 13 {
		t.Errorf("%d pods during the rollout, want at most 13 (maxSurge 30%%)", maxPods)
	}
	if minAvailable < 8 {
		t.Errorf("%d pods available during the rollout, want at least 8 (maxUnavailable 20%%)", minAvailable)
	}
	if samples < 20 {
		t.Errorf("only %d pod and ReplicaSet events observed, want the whole rollout (at least 20)", samples)
	}
}

func webDeployment(ns, image string) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	surge, unavailable := intstr.FromString("30%"), intstr.FromString("20%")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](10),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// waitRolledOut waits until every replica of deploy runs its current template and is available.
func waitRolledOut(t *testing.T, deploy *appsv1.Deployment, replicas int32) {
	t.Helper()
	eventually(t, 2*time.Minute, "Deployment "+deploy.Name+" rolled out", func(ctx context.Context) (bool, error) {
		live := deploy.DeepCopy()
		if err := get(ctx, live); err != nil {
			return false, err
		}
		s := live.Status
		return s.ObservedGeneration == live.Generation && s.UpdatedReplicas == replicas &&
			s.AvailableReplicas == replicas && s.Replicas == replicas, nil
	})
}

// watchPods watches the pods and ReplicaSets of ns and returns a function
// reporting the most pods the ReplicaSets asked for and the fewest available
// pods seen at any event, and the event count. maxSurge bounds the replicas
// asked for: pod objects of a ReplicaSet being scaled down linger until its
// controller deletes them, so counting those would measure a watch's lag.
// Pods being deleted are not counted as available.
func watchPods(t *testing.T, ns string) func() (maxPods, minAvailable, events int) {
	factory := informers.NewSharedInformerFactoryWithOptions(clientset, 0, informers.WithNamespace(ns))
	informer := factory.Core().V1().Pods().Informer()
	replicaSets := factory.Apps().V1().ReplicaSets().Informer()
	var mu sync.Mutex
	synced := false // the stores fill one object at a time until the first lists are in
	maxPods, minAvailable, events := 0, 1<<30, 0
	sample := func(any) {
		mu.Lock()
		defer mu.Unlock()
		if !synced {
			return
		}
		pods, available := 0, 0
		for _, obj := range replicaSets.GetStore().List() {
			if rs := obj.(*appsv1.ReplicaSet); rs.Spec.Replicas != nil {
				pods += int(*rs.Spec.Replicas)
			}
		}
		for _, obj := range informer.GetStore().List() {
			if pod := obj.(*corev1.Pod); pod.DeletionTimestamp == nil && podReady(pod) {
				available++
			}
		}
		maxPods, minAvailable, events = max(maxPods, pods), min(minAvailable, available), events+1
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: sample, UpdateFunc: func(_, o any) { sample(o) }, DeleteFunc: sample}
	_, _ = informer.AddEventHandler(handler)
	_, _ = replicaSets.AddEventHandler(handler)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	mu.Lock()
	synced = true
	mu.Unlock()
	sample(nil)
	return func() (int, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return maxPods, minAvailable, events
	}
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPodIPs lists the sorted IPs of the ready pods of ns.
func readyPodIPs(ctx context.Context, ns string) ([]string, error) {
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, &client.ListOptions{Namespace: ns}); err != nil {
		return nil, err
	}
	var ips []string
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil && podReady(&pod) && pod.Status.PodIP != "" {
			ips = append(ips, pod.Status.PodIP)
		}
	}
	slices.Sort(ips)
	return ips, nil
}

// readyEndpointIPs lists the sorted ready addresses of a Service's EndpointSlices.
func readyEndpointIPs(ctx context.Context, ns, service string) ([]string, error) {
	var slicesList discoveryv1.EndpointSliceList
	err := k8s.List(ctx, &slicesList, &client.ListOptions{Namespace: ns},
		client.MatchingLabels{discoveryv1.LabelServiceName: service})
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, s := range slicesList.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ips = append(ips, e.Addresses...)
			}
		}
	}
	slices.Sort(ips)
	return ips, nil
}
