package render

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// clusterScoped are the well-known cluster-scoped kinds of Kubernetes, used
// when discovery is not available or does not know a kind.
var clusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "Namespace"}:                                                    true,
	{Group: "", Kind: "Node"}:                                                         true,
	{Group: "", Kind: "PersistentVolume"}:                                             true,
	{Group: "", Kind: "ComponentStatus"}:                                              true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                                 true,
	{Group: "policy", Kind: "PodSecurityPolicy"}:                                      true,
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:                      true,
	{Group: "storagemigration.k8s.io", Kind: "StorageVersionMigration"}:               true,
	{Group: "authentication.k8s.io", Kind: "TokenReview"}:                             true,
	{Group: "authentication.k8s.io", Kind: "SelfSubjectReview"}:                       true,
	{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}:                      true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}:                  true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectRulesReview"}:                   true,
}

// scopes answers whether a kind is namespaced: the render's own
// CustomResourceDefinitions first, then discovery, then the built-in table.
type scopes struct {
	crds     map[schema.GroupKind]bool
	discover func(schema.GroupKind) (bool, error)
	// asked keeps discovery's answers, which the cache proves again later.
	asked map[schema.GroupKind]string
}

// newScopes collects the scope of every CustomResourceDefinition in objs.
func newScopes(objs []object, discover func(schema.GroupKind) (bool, error)) *scopes {
	s := &scopes{crds: map[schema.GroupKind]bool{}, discover: discover, asked: map[schema.GroupKind]string{}}
	for _, o := range objs {
		if o.u.GetKind() != "CustomResourceDefinition" || o.u.GroupVersionKind().Group != "apiextensions.k8s.io" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.u.Object, "spec", "scope")
		if kind != "" {
			s.crds[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return s
}

// namespaced reports whether objects of gk live in a namespace.
func (s *scopes) namespaced(gk schema.GroupKind) bool {
	if ns, ok := s.crds[gk]; ok {
		return ns
	}
	if s.discover != nil {
		answer, ok := s.asked[gk]
		if !ok {
			answer = askScope(s.discover, gk)
			s.asked[gk] = answer
		}
		if answer != scopeUnknown {
			return answer == scopeNamespaced
		}
	}
	return !clusterScoped[gk]
}

// Answers of discovery about a kind.
const (
	scopeNamespaced = "namespaced"
	scopeCluster    = "cluster"
	// scopeUnknown is a discovery error. It falls back to the table: the
	// apply reports an unknown kind far more clearly than a render could.
	scopeUnknown = "unknown"
)

// askScope asks discovery about gk.
func askScope(discover func(schema.GroupKind) (bool, error), gk schema.GroupKind) string {
	ns, err := discover(gk)
	switch {
	case err != nil:
		return scopeUnknown
	case ns:
		return scopeNamespaced
	default:
		return scopeCluster
	}
}

// setNamespace gives every namespaced object without a namespace ns.
func setNamespace(objs []object, ns string, s *scopes) {
	if ns == "" {
		return
	}
	for _, o := range objs {
		if o.u.GetNamespace() == "" && s.namespaced(o.u.GroupVersionKind().GroupKind()) {
			o.u.SetNamespace(ns)
		}
	}
}
