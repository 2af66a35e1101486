package e2e

import (
	"strings"
	"testing"
	"time"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

func TestAppSourceCreatedAndReadBackWithDefaults(t *testing.T) {
	ns := newNamespace(t)
	obj := appSource("web", ns)
	createAppSource(t, obj)
	got := appSource("web", ns)
	if err := get(t.Context(), got); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if got.Spec.Source.Git.URL != obj.Spec.Source.Git.URL || got.Spec.Source.Path != "deploy/overlays/prod" {
		t.Errorf("source = %+v, want what was created", got.Spec.Source)
	}
	if got.Spec.Prune == nil || !*got.Spec.Prune {
		t.Errorf("prune = %v, want the default true", got.Spec.Prune)
	}
	if got.Spec.Strategy.Type != v1alpha1.StrategyRolling {
		t.Errorf("strategy type = %q, want the Rolling default", got.Spec.Strategy.Type)
	}
}

func TestAppSourceValidationRefusesBadSpecs(t *testing.T) {
	ns := newNamespace(t)
	autoPromote := true
	tests := []struct {
		name string
		opt  func(*v1alpha1.AppSource)
		want string
	}{
		{"two refs", withRef(v1alpha1.GitRef{Branch: "main", Tag: "v1"}), "set exactly one of branch, tag, semver or commit"},
		{"no ref", withRef(v1alpha1.GitRef{}), "set exactly one of branch, tag, semver or commit"},
		{"http url", withURL("http://git.example.com/app.git"), "url must start with https:// or ssh://"},
		{"file url", withURL("file:///etc"), "url must start with https:// or ssh://"},
		{"credentials in url", withURL("https://user:token@git.example.com/app.git"), "url must not carry credentials"},
		{"password in ssh url", withURL("ssh://git:secret@git.example.com/app.git"), "url must not carry a password"},
		{"absolute path", withPath("/etc"), "path must be relative to the repository root"},
		{"dot-dot path", withPath("deploy/../../etc"), "path must not contain '..'"},
		{"leading dot-dot", withPath("../x"), "path must not contain '..'"},
		{"short interval", withInterval(5 * time.Second), "interval must be at least 10s"},
		{"short commit", withRef(v1alpha1.GitRef{Commit: "abc"}), "spec.source.git.ref.commit"},
		{"blueGreen under Rolling", withStrategy(v1alpha1.Strategy{
			Type: v1alpha1.StrategyRolling, BlueGreen: &v1alpha1.BlueGreenStrategy{AutoPromotionEnabled: &autoPromote},
		}), "blueGreen may be set only when type is BlueGreen"},
		{"rolling under BlueGreen", withStrategy(v1alpha1.Strategy{
			Type: v1alpha1.StrategyBlueGreen, Rolling: &v1alpha1.RollingStrategy{AutoRollback: true},
		}), "rolling may be set only when type is Rolling"},
		{"two engines", withRender(&v1alpha1.Render{
			Kustomize: &v1alpha1.KustomizeRender{}, Helm: &v1alpha1.HelmRender{},
		}), "set at most one of kustomize or helm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k8s.Create(t.Context(), appSource("bad", ns, tt.opt))
			if err == nil {
				t.Fatal("created, want refused")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestAppSourceValidationAcceptsEveryRefKind(t *testing.T) {
	ns := newNamespace(t)
	refs := map[string]v1alpha1.GitRef{
		"branch": {Branch: "main"},
		"tag":    {Tag: "v1.2.0"},
		"semver": {SemVer: ">=1.2 <2"},
		"commit": {Commit: strings.Repeat("ab", 20)},
	}
	for name, ref := range refs {
		obj := appSource(name, ns, withRef(ref), withURL("ssh://git@git.example.com/org/app.git"))
		if err := k8s.Create(t.Context(), obj); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
