package kustomize

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"
)

// PostBuild changes rendered objects as a kustomization over them would:
// names, metadata, patches and images. The zero value changes nothing.
type PostBuild struct {
	// NamePrefix and NameSuffix change every object's name, and the
	// references to it (kustomize's namePrefix and nameSuffix).
	NamePrefix, NameSuffix string
	// Labels and Annotations are added to every object's metadata, and not
	// to selectors or templates (Flux's commonMetadata).
	Labels, Annotations map[string]string
	// Patches are strategic merge or JSON 6902 patches, inline.
	Patches []Patch
	// Images override container images by name.
	Images []Image
}

// Patch is one inline patch and the objects it applies to.
type Patch struct {
	// Patch is a strategic merge patch, or a JSON 6902 patch (a list of
	// operations, which needs a Target).
	Patch string
	// Target selects the objects to patch; nil patches the object a
	// strategic merge patch names.
	Target *Target
}

// Target selects objects by their group, version, kind, name and
// namespace (regular expressions, as kustomize reads them) and by label
// and annotation selectors. Empty fields select everything.
type Target struct {
	Group, Version, Kind, Name, Namespace string
	LabelSelector, AnnotationSelector     string
}

// Image overrides the images named Name: NewName replaces the name, NewTag
// the tag, Digest the tag with a digest.
type Image struct {
	Name, NewName, NewTag, Digest string
}

// Empty reports whether p changes nothing.
func (p PostBuild) Empty() bool {
	return p.NamePrefix == "" && p.NameSuffix == "" && len(p.Labels) == 0 && len(p.Annotations) == 0 &&
		len(p.Patches) == 0 && len(p.Images) == 0
}

// Apply applies p to a YAML stream of objects and returns the stream, in
// the same order. Kustomize reads nothing but the stream and p: they are
// the only files of an in-memory file system.
func (p PostBuild) Apply(stream []byte) ([]byte, error) {
	k := types.Kustomization{
		TypeMeta:          types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources:         []string{"objects.yaml"},
		NamePrefix:        p.NamePrefix,
		NameSuffix:        p.NameSuffix,
		CommonAnnotations: p.Annotations,
	}
	if len(p.Labels) > 0 {
		k.Labels = []types.Label{{Pairs: p.Labels}}
	}
	for _, patch := range p.Patches {
		kp := types.Patch{Patch: patch.Patch}
		if t := patch.Target; t != nil {
			kp.Target = &types.Selector{
				ResId:              resid.ResId{Gvk: resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind}, Name: t.Name, Namespace: t.Namespace},
				LabelSelector:      t.LabelSelector,
				AnnotationSelector: t.AnnotationSelector,
			}
		}
		k.Patches = append(k.Patches, kp)
	}
	for _, img := range p.Images {
		k.Images = append(k.Images, types.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	kustomization, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile("/post-build/objects.yaml", stream); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/post-build/kustomization.yaml", kustomization); err != nil {
		return nil, err
	}
	schemaLock.RLock()
	defer schemaLock.RUnlock()
	o := options()
	o.Reorder = krusty.ReorderOptionNone
	m, err := krusty.MakeKustomizer(o).Run(fs, "/post-build")
	if err != nil {
		return nil, fmt.Errorf("patches and images: %w", err)
	}
	return m.AsYaml()
}
