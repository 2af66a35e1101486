package localcluster

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Test knobs of the pod stages kwok runs with (stages.yaml).
const (
	// NeverReadyLabel set to "true" on a pod template gives pods that run
	// and never become Ready.
	NeverReadyLabel = "never-ready.stage.driftless.dev"
	// ReadyDelayAnnotation on a pod template ("3s") delays readiness.
	ReadyDelayAnnotation = "ready-delay.stage.driftless.dev"
	// FailLabel set to "true" on the pod template of a Job gives pods that
	// run and then fail (exit code 1); a Job's other pods complete.
	FailLabel = "fail.stage.driftless.dev"
)

//go:embed stages.yaml
var podStages []byte

// startWorkloads starts kube-controller-manager, kube-scheduler and kwok,
// creates the fake nodes and waits until pods can be scheduled on them.
func (c *Cluster) startWorkloads(ctx context.Context) error {
	kcm, err := c.start("kube-controller-manager", controllerManagerArgs(c.Kubeconfig, c.pki))
	if err != nil {
		return err
	}
	if _, err := c.start("kube-scheduler", componentArgs(c.Kubeconfig)); err != nil {
		return err
	}
	stages := filepath.Join(c.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, podStages, 0o600); err != nil {
		return err
	}
	kwok, err := c.start("kwok", append(kwokArgs(c.Kubeconfig), "--config="+stages))
	if err != nil {
		return err
	}
	c.kwok = kwok
	if err := c.AddNodes(ctx, max(c.opts.Nodes, 1)); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	// Pods are refused until the service account controller has made the
	// namespace's default ServiceAccount.
	return kcm.waitFor(ctx, "default service account", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// AddNodes adds n fake nodes of 110 pods each, and waits until pods can be
// scheduled on every node.
func (c *Cluster) AddNodes(ctx context.Context, n int) error {
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	for range n {
		c.nodes++
		if _, err := client.CoreV1().Nodes().Create(ctx, fakeNode(c.nodes-1), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create fake node %d: %w", c.nodes-1, err)
		}
	}
	return c.kwok.waitFor(ctx, "fake nodes Ready", nodesSchedulable(client, c.nodes))
}

// fakeNode is a Node that kwok plays the kubelet of.
func fakeNode(i int) *corev1.Node {
	name := fmt.Sprintf("kwok-node-%d", i)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "type": "kwok"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// nodesSchedulable checks that n nodes are Ready and carry no NoSchedule or
// NoExecute taint (admission taints a new node not-ready until the node
// lifecycle controller sees it Ready).
func nodesSchedulable(client kubernetes.Interface, n int) func(context.Context) error {
	return func(ctx context.Context) error {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return errors.New("no nodes yet")
			}
			return err
		}
		ready := 0
		for _, node := range list.Items {
			if nodeReady(&node) && !tainted(&node) {
				ready++
			}
		}
		if ready < n {
			return fmt.Errorf("%d of %d nodes schedulable", ready, n)
		}
		return nil
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func tainted(node *corev1.Node) bool {
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}
