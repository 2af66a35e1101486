package render

import "testing"

func TestDetect(t *testing.T) {
	root := tree{
		"k/kustomization.yaml":    "resources: []\n",
		"k2/Kustomization":        "resources: []\n",
		"both/kustomization.yml":  "resources: []\n",
		"both/Chart.yaml":         "name: x\n",
		"c/Chart.yaml":            "name: x\n",
		"p/a.yaml":                cmA,
		"dirnamed/Chart.yaml/x":   "a directory named like a chart file",
		"out/kustomization.yaml@": "/etc/hostname",
	}.write(t)
	for dir, want := range map[string]Engine{"k": Kustomize, "k2": Kustomize, "both": Kustomize, "c": Helm, "p": Plain, "dirnamed": Plain} {
		if got, err := Detect(root, dir); err != nil || got != want {
			t.Errorf("Detect(%s) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := Detect(root, "out"); ReasonOf(err) != SymlinkOutOfBounds {
		t.Errorf("Detect(out) = %v, want SymlinkOutOfBounds", err)
	}
}
