package bluegreen

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// releaseLen is how many hex digits of the sha256 the release keeps: 64 bits tell releases
// apart and still read well in an annotation and a status.
const releaseLen = 16

// objectID names an object of the render; the group and kind keep a ConfigMap and a Secret of
// the same name apart.
type objectID struct {
	group, kind, namespace, name string
}

func idOf(obj *unstructured.Unstructured) objectID {
	gvk := obj.GroupVersionKind()
	return objectID{group: gvk.Group, kind: gvk.Kind, namespace: obj.GetNamespace(), name: obj.GetName()}
}

// String names the object the way errors do: Deployment/team-a/web.
func (id objectID) String() string {
	if id.namespace == "" {
		return id.kind + "/" + id.name
	}
	return id.kind + "/" + id.namespace + "/" + id.name
}

// Release is the release hash Colorize gives objs, without colouring them:
// what tells whether a colour already runs this render.
func Release(objs []*unstructured.Unstructured) (string, error) {
	return newRendered(objs).hash()
}

// rendered indexes the colour-neutral objects of one render: what the release consists of.
type rendered struct {
	all         map[objectID]bool
	deployments map[objectID]bool
	// configs are the ConfigMaps and Secrets of the render that a Deployment's pod template
	// uses in its own namespace: the ones that get a copy per colour.
	configs map[objectID]*unstructured.Unstructured
	// members are the Deployments and configs, the objects the release hash covers.
	members []*unstructured.Unstructured
}

func newRendered(objs []*unstructured.Unstructured) *rendered {
	r := &rendered{
		all:         map[objectID]bool{},
		deployments: map[objectID]bool{},
		configs:     map[objectID]*unstructured.Unstructured{},
	}
	byID := map[objectID]*unstructured.Unstructured{}
	for _, obj := range objs {
		r.all[idOf(obj)] = true
		byID[idOf(obj)] = obj
	}
	for _, obj := range objs {
		if !isDeployment(obj) {
			continue
		}
		r.deployments[idOf(obj)] = true
		r.members = append(r.members, obj)
		visitRefs(obj.Object, func(kind, name string) string {
			id := objectID{kind: kind, namespace: obj.GetNamespace(), name: name}
			if cfg := byID[id]; cfg != nil && isConfig(cfg) && r.configs[id] == nil {
				r.configs[id] = cfg
				r.members = append(r.members, cfg)
			}
			return name
		})
	}
	return r
}

// checkCollisions fails when the copy of a Deployment or config, in either colour, has the name
// of another object of the same kind in the render: applying one would overwrite the other.
// Both colours are checked so that a render is accepted or refused whatever colour it goes to.
func (r *rendered) checkCollisions() error {
	for _, obj := range r.members {
		id := idOf(obj)
		for _, color := range []string{Blue, Green} {
			cp := id
			cp.name = Name(id.name, color)
			if r.all[cp] {
				return fmt.Errorf("%s: its %s copy would be named %s, which the render already has", id, color, cp)
			}
		}
	}
	return nil
}

// hash returns the release: a digest of the colour-neutral Deployments and their configs, in
// canonical JSON (encoding/json sorts map keys) and a fixed order, so both colours of the same
// render agree and any change to a workload or its configuration gives a new release.
func (r *rendered) hash() (string, error) {
	members := append([]*unstructured.Unstructured(nil), r.members...)
	sort.Slice(members, func(i, j int) bool { return less(idOf(members[i]), idOf(members[j])) })
	h := sha256.New()
	for _, obj := range members {
		b, err := json.Marshal(obj.Object)
		if err != nil {
			// Not wrapped: the encoder's message may quote a value, and a Secret's values must
			// never reach an error.
			return "", fmt.Errorf("%s: encode for the release hash: not plain JSON", idOf(obj))
		}
		fmt.Fprintf(h, "%s\n%s\n", idOf(obj), b)
	}
	return hex.EncodeToString(h.Sum(nil))[:releaseLen], nil
}

func less(a, b objectID) bool {
	if a.namespace != b.namespace {
		return a.namespace < b.namespace
	}
	if a.name != b.name {
		return a.name < b.name
	}
	return a.kind < b.kind
}

// Workloads returns the rendered Deployments' "namespace/name", sorted: what the release rolls.
// These are the keys of Options.Replicas.
func Workloads(objs []*unstructured.Unstructured) []string {
	var keys []string
	for _, obj := range objs {
		if isDeployment(obj) {
			keys = append(keys, workloadKey(obj))
		}
	}
	sort.Strings(keys)
	return keys
}

// workloadKey is the "namespace/name" of a rendered Deployment, as Options.Replicas expects it.
func workloadKey(obj *unstructured.Unstructured) string {
	return obj.GetNamespace() + "/" + obj.GetName()
}

func isDeployment(obj *unstructured.Unstructured) bool {
	return obj.GetAPIVersion() == "apps/v1" && obj.GetKind() == "Deployment"
}

func isConfig(obj *unstructured.Unstructured) bool {
	return obj.GetAPIVersion() == "v1" && (obj.GetKind() == kindConfigMap || obj.GetKind() == kindSecret)
}

func isService(obj *unstructured.Unstructured) bool {
	return obj.GetAPIVersion() == "v1" && obj.GetKind() == "Service"
}

// isAutoscaler accepts every version of the autoscaling group: scaleTargetRef has the same
// shape in v1 and v2.
func isAutoscaler(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == "autoscaling" && gvk.Kind == "HorizontalPodAutoscaler"
}

// appsGroup reports whether a scaleTargetRef's apiVersion is in the apps group, or unset.
func appsGroup(apiVersion interface{}) bool {
	s, _ := apiVersion.(string)
	if s == "" {
		return true
	}
	gv, err := schema.ParseGroupVersion(s)
	return err == nil && gv.Group == "apps"
}
