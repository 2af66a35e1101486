package decrypt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// object parses a YAML manifest into unstructured content, as the renderer hands it over.
func object(t *testing.T, manifest string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestGuard(t *testing.T) {
	s := newSecrets()
	id := s.ageKey(t)
	k8sSpec := sealSpec{groups: forAge(t, id).groups, encryptedRegex: "^(data|stringData)$"}
	encSecret := string(seal(t, FormatYAML, secretYAML(s.canary("guard"), s.canary("guard2")), k8sSpec))
	encWhole := string(seal(t, FormatYAML, secretYAML(s.canary("whole"), s.canary("whole2")), forAge(t, id)))
	encDotenv := seal(t, FormatDotenv, dotenvFile(s.canary("gen"), "x"), forAge(t, id))
	encValues := string(seal(t, FormatYAML, []byte("password: "+s.canary("helm")+"\n"), forAge(t, id)))
	encValue := strings.TrimSpace(strings.SplitN(strings.SplitN(encValues, "password: ", 2)[1], "\n", 2)[0])
	cases := []struct {
		name     string
		manifest string
		refused  string // expected name in the error, "" when accepted
	}{
		{"encrypted secret", encSecret, "Secret/team-a/db (top-level sops metadata)"},
		{"secret encrypted whole", encWhole, "object #1 (top-level sops metadata)"},
		{"plain secret", string(secretYAML("u", "t")), ""},
		{"plain configmap mentioning sops", "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  sops: enabled\n", ""},
		{"custom resource with a sops field", "kind: Thing\nmetadata: {name: x}\nsops: {enabled: true}\n", ""},
		{"metadata with key groups only", "kind: Secret\nmetadata: {name: k}\nsops:\n  key_groups:\n    - age:\n        - enc: x\n", "Secret/k (top-level sops metadata)"},
		{"secretGenerator from an encrypted dotenv", fmt.Sprintf("kind: Secret\nmetadata: {name: gen, namespace: ns}\ndata:\n  .env: %s\n",
			base64.StdEncoding.EncodeToString(encDotenv)), "Secret/ns/gen (sops ciphertext in data..env)"},
		{"ciphertext through helm values", fmt.Sprintf("kind: Deployment\nmetadata: {name: web, namespace: ns}\nspec:\n  template:\n    spec:\n      containers:\n        - env:\n            - name: PASSWORD\n              value: %q\n", encValue),
			"Deployment/ns/web (sops ciphertext at spec.template.spec.containers[0].env[0].value)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Guard([]map[string]any{object(t, "kind: ConfigMap\nmetadata: {name: ok}\n"), object(t, tc.manifest)})
			s.assertNoLeak(t, err)
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused a plain object: %v", err)
				}
				return
			}
			var oe *ObjectError
			if !errors.As(err, &oe) || !errors.Is(err, ErrEncryptedObject) {
				t.Fatalf("got %v, want an *ObjectError", err)
			}
			if len(oe.Objects) != 1 || oe.Objects[0] != tc.refused {
				t.Fatalf("refused %q, want [%q]", oe.Objects, tc.refused)
			}
		})
	}
}

func TestGuardNamesAtMostTenObjects(t *testing.T) {
	var objs []map[string]any
	for i := range 12 {
		objs = append(objs, map[string]any{
			"kind":     "Secret",
			"metadata": map[string]any{"name": fmt.Sprint("s", i)},
			"sops":     map[string]any{"mac": "ENC[AES256_GCM,data:x]"},
		})
	}
	err := Guard(objs)
	var oe *ObjectError
	if !errors.As(err, &oe) || len(oe.Objects) != 12 {
		t.Fatalf("got %v", err)
	}
	if !strings.HasSuffix(err.Error(), "and 2 more") || strings.Contains(err.Error(), "ENC[") {
		t.Fatalf("message %q", err)
	}
}
