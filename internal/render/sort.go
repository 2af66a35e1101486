package render

import (
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// applyTier is the position of a kind in the apply order: definitions and
// namespaces first, then what other objects refer to, then workloads, then
// everything else (custom resources included), and admission webhooks and
// API services last so they never intercept the apply of the objects they
// are served by.
var applyTier = map[string]int{
	"CustomResourceDefinition": 0,
	"Namespace":                1,

	// Cluster-wide prerequisites.
	"PriorityClass":         2,
	"StorageClass":          2,
	"VolumeAttributesClass": 2,
	"RuntimeClass":          2,
	"IngressClass":          2,
	"DeviceClass":           2,
	"PodSecurityPolicy":     2,
	"ClusterRole":           2,
	"ClusterRoleBinding":    2,
	"PersistentVolume":      2,

	// Namespace policy, identity and configuration.
	"ResourceQuota":         3,
	"LimitRange":            3,
	"NetworkPolicy":         3,
	"ServiceAccount":        3,
	"Role":                  3,
	"RoleBinding":           3,
	"Secret":                3,
	"ConfigMap":             3,
	"PersistentVolumeClaim": 3,
	"PodDisruptionBudget":   3,

	// Networking.
	"Service":       4,
	"Endpoints":     4,
	"EndpointSlice": 4,

	// Workloads.
	"Deployment":              5,
	"StatefulSet":             5,
	"DaemonSet":               5,
	"ReplicaSet":              5,
	"ReplicationController":   5,
	"Pod":                     5,
	"Job":                     5,
	"CronJob":                 5,
	"HorizontalPodAutoscaler": 5,

	// Last.
	"APIService":                       8,
	"MutatingWebhookConfiguration":     8,
	"ValidatingWebhookConfiguration":   8,
	"ValidatingAdmissionPolicy":        8,
	"ValidatingAdmissionPolicyBinding": 8,
	"MutatingAdmissionPolicy":          8,
	"MutatingAdmissionPolicyBinding":   8,
}

// otherTier is the tier of every kind not listed: Ingresses and custom
// resources, after the workloads and before the webhooks.
const otherTier = 6

// Tier returns the apply tier of obj's kind: 0 for CustomResourceDefinitions,
// 1 for Namespaces, higher for everything that may depend on them.
func Tier(obj *unstructured.Unstructured) int {
	if t, ok := applyTier[obj.GetKind()]; ok {
		return t
	}
	return otherTier
}

// Sort orders objs for applying: by Tier, and within a tier in the order the
// engine produced them, so a render's order is kept where it does not matter.
func Sort(objs []*unstructured.Unstructured) {
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return Tier(a) - Tier(b)
	})
}
