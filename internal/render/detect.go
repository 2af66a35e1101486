package render

import (
	"context"
	"path"
)

// kustomizationFiles are the names kustomize recognises, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Detect returns the engine for directory dir of the checkout at root: Kustomize
// when dir holds a kustomization file, else Helm when it holds Chart.yaml,
// else Plain. A kustomization wins over a chart.
func Detect(root, dir string) (Engine, error) {
	c, err := openCheckout(context.Background(), root, DefaultLimits())
	if err != nil {
		return Auto, err
	}
	defer c.Close()
	return detect(c, cleanPath(dir))
}

func detect(c *checkout, dir string) (Engine, error) {
	for _, name := range kustomizationFiles {
		if ok, err := isFile(c, path.Join(dir, name)); ok || err != nil {
			return Kustomize, err
		}
	}
	if ok, err := isFile(c, path.Join(dir, "Chart.yaml")); ok || err != nil {
		return Helm, err
	}
	return Plain, nil
}

// isFile reports whether name exists and is not a directory. A name that
// resolves outside the checkout is an error, not a missing file.
func isFile(c *checkout, name string) (bool, error) {
	fi, err := c.Stat(name)
	if err != nil {
		if v := c.Violation(); v != nil {
			return false, v
		}
		return false, nil
	}
	return !fi.IsDir(), nil
}

// cleanPath returns the slash-separated, clean form of a relative path.
func cleanPath(p string) string {
	if p == "" {
		return "."
	}
	return path.Clean(p)
}
