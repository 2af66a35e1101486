package bluegreen

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name                string
		workload            *unstructured.Unstructured
		configMaps, secrets []string
	}{{
		name:     "no references",
		workload: deployment("web"),
	}, {
		name: "every kind of reference, sorted and deduplicated",
		workload: deployment("web",
			withVolume(configMapVolume("vol-cm")),
			withVolume(secretVolume("vol-secret")),
			withVolume(m{"name": "p", "projected": m{"sources": l{
				m{"configMap": m{"name": "projected-cm"}},
				m{"secret": m{"name": "projected-secret"}},
				m{"downwardAPI": m{"items": l{}}},
			}}}),
			withVolume(m{"name": "scratch", "emptyDir": m{}}),
			withEnv(
				m{"name": "A", "valueFrom": m{"configMapKeyRef": m{"name": "env-cm", "key": "a"}}},
				m{"name": "B", "valueFrom": m{"secretKeyRef": m{"name": "env-secret", "key": "b"}}},
				m{"name": "C", "valueFrom": m{"fieldRef": m{"fieldPath": "metadata.name"}}},
				m{"name": "D", "valueFrom": m{"configMapKeyRef": m{"name": "vol-cm", "key": "d"}}},
			),
			withEnvFrom(m{"configMapRef": m{"name": "from-cm"}}, m{"secretRef": m{"name": "from-secret"}}),
			withContainerField("initContainers", "envFrom", m{"secretRef": m{"name": "init-secret"}}),
		),
		configMaps: []string{"env-cm", "from-cm", "projected-cm", "vol-cm"},
		secrets:    []string{"env-secret", "from-secret", "init-secret", "projected-secret", "vol-secret"},
	}, {
		name: "a live colour copy refers to its colour's configs",
		workload: deployment("web-green",
			withVolume(configMapVolume("cfg-green")), withEnvFrom(m{"secretRef": m{"name": "db-green"}})),
		configMaps: []string{"cfg-green"},
		secrets:    []string{"db-green"},
	}, {
		name:     "a malformed template has no references",
		workload: deployment("web", with("not a pod spec", "spec", "template", "spec")),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.workload.DeepCopy()
			configMaps, secrets := References(tc.workload)
			if !reflect.DeepEqual(configMaps, orEmpty(tc.configMaps)) || !reflect.DeepEqual(secrets, orEmpty(tc.secrets)) {
				t.Errorf("References = %v, %v; want %v, %v", configMaps, secrets, tc.configMaps, tc.secrets)
			}
			if !reflect.DeepEqual(tc.workload, before) {
				t.Error("References modified the workload")
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
