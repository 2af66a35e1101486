package bluegreen

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kinds a pod template refers to by name.
const (
	kindConfigMap = "ConfigMap"
	kindSecret    = "Secret"
)

// References returns the names of the ConfigMaps and Secrets the pod template of a workload
// (a Deployment, live or rendered) refers to, sorted and deduplicated.
func References(workload *unstructured.Unstructured) (configMaps, secrets []string) {
	seen := map[string]map[string]bool{kindConfigMap: {}, kindSecret: {}}
	visitRefs(workload.Object, func(kind, name string) string {
		seen[kind][name] = true
		return name
	})
	return sortedKeys(seen[kindConfigMap]), sortedKeys(seen[kindSecret])
}

// visitRefs calls fn with each ConfigMap and Secret name that the pod template of workload
// refers to, and stores the name fn returns in its place: one walk serves both reading and
// rewriting, so the two can never disagree on which fields are references.
func visitRefs(workload map[string]interface{}, fn func(kind, name string) string) {
	pod := mapAt(workload, "spec", "template", "spec")
	for _, v := range sliceAt(pod, "volumes") {
		vol := asMap(v)
		visitName(mapAt(vol, "configMap"), "name", kindConfigMap, fn)
		visitName(mapAt(vol, "secret"), "secretName", kindSecret, fn)
		for _, s := range sliceAt(vol, "projected", "sources") {
			source := asMap(s)
			visitName(mapAt(source, "configMap"), "name", kindConfigMap, fn)
			visitName(mapAt(source, "secret"), "name", kindSecret, fn)
		}
	}
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range sliceAt(pod, field) {
			visitContainer(asMap(c), fn)
		}
	}
}

// visitContainer visits the references of one container's environment.
func visitContainer(container map[string]interface{}, fn func(kind, name string) string) {
	for _, e := range sliceAt(container, "env") {
		from := mapAt(asMap(e), "valueFrom")
		visitName(mapAt(from, "configMapKeyRef"), "name", kindConfigMap, fn)
		visitName(mapAt(from, "secretKeyRef"), "name", kindSecret, fn)
	}
	for _, e := range sliceAt(container, "envFrom") {
		source := asMap(e)
		visitName(mapAt(source, "configMapRef"), "name", kindConfigMap, fn)
		visitName(mapAt(source, "secretRef"), "name", kindSecret, fn)
	}
}

// visitName visits ref[field], if it is a name, and writes only when fn renames it, so that
// reading never touches the object.
func visitName(ref map[string]interface{}, field, kind string, fn func(kind, name string) string) {
	name, _ := ref[field].(string)
	if name == "" {
		return
	}
	if renamed := fn(kind, name); renamed != name {
		ref[field] = renamed
	}
}

// mapAt returns the map at the path, or nil when a field is missing or not a map: a malformed
// template has no references to find, and the API server reports its errors on apply.
func mapAt(m map[string]interface{}, fields ...string) map[string]interface{} {
	for _, f := range fields {
		m = asMap(m[f])
	}
	return m
}

// sliceAt returns the list at the path, or nil like mapAt.
func sliceAt(m map[string]interface{}, fields ...string) []interface{} {
	last := len(fields) - 1
	s, _ := mapAt(m, fields[:last]...)[fields[last]].([]interface{})
	return s
}

func asMap(v interface{}) map[string]interface{} {
	m, _ := v.(map[string]interface{})
	return m
}

func sortedKeys(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
