package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/decrypt"
	"github.com/driftless-dev/driftless/internal/render"
)

// The decrypt and render steps, and what the render reads: keys, Helm
// values, substitution variables, and the cluster's scopes.

// decrypt readies the AppSource's keys for the render, which decrypts each
// SOPS file as it reads it, wherever it is in the checkout: a file the
// render never reads needs no key. Without keys configured, an encrypted
// file read is an error naming it: ciphertext is never applied.
func (r *AppSourceReconciler) decrypt(ctx context.Context, st *state) error {
	if st.cached {
		return nil
	}
	opts := decrypt.DefaultOptions()
	if st.keys != nil {
		opts.Keys = *st.keys
	} else {
		keys, err := r.decryptionKeys(ctx, st)
		if err != nil {
			return err
		}
		opts.Keys = keys
	}
	d, err := decrypt.NewDecrypter(opts)
	if err != nil {
		return failed(v1alpha1.DecryptionFailedReason, err)
	}
	st.decryption = &render.Decryption{ID: opts.Keys.ID(), File: func(ctx context.Context, name string, data []byte) ([]byte, bool, error) {
		plain, format, err := d.File(ctx, name, data)
		return plain, format != "", err
	}}
	return nil
}

// decryptionKeys reads the *.agekey and *.asc entries of the Secret that
// spec.decryption names; none when it names none.
func (r *AppSourceReconciler) decryptionKeys(ctx context.Context, st *state) (decrypt.Keys, error) {
	var keys decrypt.Keys
	d := st.obj.Spec.Decryption
	if d == nil {
		return keys, nil
	}
	secret, err := r.secret(ctx, st, d.SecretRef.Name)
	if err != nil {
		return keys, err
	}
	// Sorted, so that key numbers in messages are the same every run.
	for _, name := range slices.Sorted(maps.Keys(secret.Data)) {
		switch {
		case strings.HasSuffix(name, ".agekey"):
			keys.Age = append(keys.Age, secret.Data[name])
		case strings.HasSuffix(name, ".asc"):
			keys.PGP = append(keys.PGP, secret.Data[name])
		}
	}
	return keys, nil
}

// render turns the path into objects, refusing any still encrypted.
func (r *AppSourceReconciler) render(ctx context.Context, st *state) error {
	if st.cached {
		return nil
	}
	opts, err := r.renderOptions(ctx, st)
	if err != nil {
		return err
	}
	objs, err := render.Render(ctx, opts)
	var fileErr *decrypt.FileError
	var stepErr *stepError
	switch {
	case errors.As(err, &stepErr):
		return stepErr // a chart dependency's download, with its own reason
	case errors.As(err, &fileErr):
		return failed(decryptReason(err), err)
	case err != nil:
		return failed(renderReason(err), err)
	}
	if len(objs) == 0 {
		// An empty render is never "delete everything".
		return failed(v1alpha1.BuildFailedReason, fmt.Errorf("%s renders no objects", pathOrRoot(st.obj.Spec.Source.Path)))
	}
	contents := make([]map[string]any, len(objs))
	for i, o := range objs {
		contents[i] = o.Object
	}
	if err := decrypt.Guard(contents); err != nil {
		return failed(v1alpha1.DecryptionFailedReason, err)
	}
	st.objects = objs
	if st.inputs != "" {
		r.memory.putRender(client.ObjectKeyFromObject(st.obj), st.inputs, objs)
	}
	return nil
}

func (r *AppSourceReconciler) renderOptions(ctx context.Context, st *state) (render.Options, error) {
	spec := st.obj.Spec
	opts := render.Options{Root: st.checkout, Path: spec.Source.Path, TargetNamespace: spec.TargetNamespace, Cache: r.RenderCache, Sandbox: r.Sandbox, Decryption: st.decryption,
		ChartDependencies: r.chartDependencies(st),
		// A chart found without spec.render.helm is released under the AppSource's name too.
		Helm: render.HelmOptions{ReleaseName: st.obj.Name, Namespace: spec.TargetNamespace, CRDAnnotations: chartCRDAnnotations("")}}
	if r.Mapper != nil {
		opts.IsNamespaced = r.isNamespaced
	}
	caps, _, err := r.clusterCaps.get()
	if err != nil {
		return opts, err
	}
	opts.Capabilities = caps
	if spec.Render == nil {
		return opts, nil
	}
	if k := spec.Render.Kustomize; k != nil {
		opts.Engine, opts.PostBuild = render.Kustomize, postBuild(k.PostBuild)
		vars, err := r.variables(ctx, st, k)
		if err != nil {
			return opts, err
		}
		opts.Substitute = vars
	}
	h := spec.Render.Helm
	if h == nil {
		return opts, nil
	}
	opts.Engine = render.Helm
	if h.PostRender != nil {
		opts.PostBuild = postBuild(*h.PostRender)
	}
	opts.Helm.ValuesFiles = h.ValuesFiles
	if h.Chart != nil {
		if opts.Helm.Chart, err = r.chartArchive(ctx, st); err != nil {
			return opts, err
		}
	}
	opts.Helm.SkipCRDs, opts.Helm.CRDAnnotations = h.CRDs == v1alpha1.CRDsSkip, chartCRDAnnotations(h.CRDs)
	if h.ReleaseName != "" {
		opts.Helm.ReleaseName = h.ReleaseName
	}
	for _, ref := range h.ValuesFrom {
		doc, err := r.valuesFrom(ctx, st, ref)
		if err != nil {
			return opts, err
		}
		if doc != nil {
			opts.Helm.ValuesFrom = append(opts.Helm.ValuesFrom, *doc)
		}
	}
	if h.Values != nil && len(h.Values.Raw) > 0 {
		if err := yaml.Unmarshal(h.Values.Raw, &opts.Helm.Values); err != nil {
			return opts, stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.render.helm.values: %w", err))
		}
	}
	return opts, nil
}

// postBuild maps the spec's names, metadata, patches and images to the
// render's.
func postBuild(p v1alpha1.PostBuild) render.PostBuild {
	out := render.PostBuild{NamePrefix: p.NamePrefix, NameSuffix: p.NameSuffix}
	if m := p.CommonMetadata; m != nil {
		out.Labels, out.Annotations = m.Labels, m.Annotations
	}
	for _, patch := range p.Patches {
		rp := render.Patch{Patch: patch.Patch}
		if t := patch.Target; t != nil {
			rp.Target = &render.PatchTarget{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name, Namespace: t.Namespace,
				LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
		}
		out.Patches = append(out.Patches, rp)
	}
	for _, img := range p.Images {
		out.Images = append(out.Images, render.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	return out
}

// chartCRDAnnotations are the annotations that make Helm's rules hold for
// the CRDs of a chart's crds/ under policy: never pruned, and created only
// when missing unless the policy is CreateReplace.
func chartCRDAnnotations(policy v1alpha1.CRDPolicy) map[string]string {
	a := map[string]string{apply.PruneAnnotation: "disabled"}
	if policy != v1alpha1.CRDsCreateReplace {
		a[apply.ApplyAnnotation] = apply.IfNotPresent
	}
	return a
}

// valuesFrom reads one valuesFrom key; nil when optional and missing.
func (r *AppSourceReconciler) valuesFrom(ctx context.Context, st *state, ref v1alpha1.ValuesReference) (*render.ValuesSource, error) {
	name := fmt.Sprintf("%s/%s key %s", ref.Kind, ref.Name, ref.Key)
	obj, err := r.readRef(ctx, st, objectRef{ref.Kind, ref.Name})
	if client.IgnoreNotFound(err) != nil {
		return nil, failed(v1alpha1.AccessDeniedReason, fmt.Errorf("read %s: %w", name, err))
	}
	var data []byte
	var found bool
	switch o := obj.(type) {
	case *corev1.Secret:
		data, found = o.Data[ref.Key]
	case *corev1.ConfigMap:
		var s string
		s, found = o.Data[ref.Key]
		data = []byte(s)
	}
	switch {
	case found:
		return &render.ValuesSource{Name: name, Data: data}, nil
	case ref.Optional:
		return nil, nil
	}
	return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("valuesFrom %s: not found", name))
}

// variablePattern is what a variable's name must match, as with Flux.
var variablePattern = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// variables are the variables of substitution: every key of substituteFrom's
// objects, in order, then substitute's; nil when neither is set. A missing
// object that is not optional, or a key that cannot name a variable, is
// BuildFailed naming it.
func (r *AppSourceReconciler) variables(ctx context.Context, st *state, k *v1alpha1.KustomizeRender) (map[string]string, error) {
	if k.Substitute == nil && k.SubstituteFrom == nil {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range k.SubstituteFrom {
		name := ref.Kind + "/" + ref.Name
		obj, err := r.readRef(ctx, st, objectRef{ref.Kind, ref.Name})
		switch {
		case apierrors.IsNotFound(err) && ref.Optional:
			continue
		case apierrors.IsNotFound(err):
			return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("substituteFrom %s: not found", name))
		case err != nil:
			return nil, failed(v1alpha1.AccessDeniedReason, fmt.Errorf("read %s: %w", name, err))
		}
		data := map[string]string{}
		switch o := obj.(type) {
		case *corev1.Secret:
			for key, v := range o.Data {
				data[key] = string(v)
			}
		case *corev1.ConfigMap:
			maps.Copy(data, o.Data)
		}
		for key, v := range data {
			if !variablePattern.MatchString(key) {
				return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("substituteFrom %s: key %q cannot name a variable (want %s)", name, key, variablePattern))
			}
			vars[key] = v
		}
	}
	for key, v := range k.Substitute {
		if !variablePattern.MatchString(key) {
			return nil, stalled(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.render.kustomize.substitute: %q cannot name a variable (want %s)", key, variablePattern))
		}
		vars[key] = v
	}
	return vars, nil
}

// isNamespaced asks discovery; for a kind it does not know (a CRD of the same
// render), the error lets the render decide from its own CRDs.
func (r *AppSourceReconciler) isNamespaced(gk schema.GroupKind) (bool, error) {
	m, err := r.Mapper.RESTMapping(gk)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}
