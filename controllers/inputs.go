package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// inputsKey names everything a render depends on besides the checkout: the
// commit, the chart version of a repository, the spec generation, the
// cluster's capabilities, and the content of the Secrets and ConfigMaps it
// reads (credentials, decryption keys and Helm values). A change to their
// labels or annotations changes no input.
func (r *AppSourceReconciler) inputsKey(ctx context.Context, st *state, commit string) string {
	_, caps, err := r.clusterCaps.get()
	if err != nil {
		return "" // unknown inputs: render again
	}
	parts := []string{commit, fmt.Sprint(st.obj.Generation), "capabilities@" + caps}
	if c := st.chart; c != nil {
		// An index may give no digest: the archive's URL names it then.
		parts = append(parts, "chart@"+c.res.Version+"@"+c.res.Digest+"@"+c.res.URL)
	}
	for _, ref := range referenced(st.obj) {
		obj, err := r.readRef(ctx, st, ref)
		if err != nil {
			return "" // unknown inputs: render again
		}
		h := sha256.New()
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			hashData(h, o.Data)
			hashData(h, o.BinaryData)
		case *corev1.Secret:
			hashData(h, o.Data)
		}
		// Only the hash is kept: it names a version of the content
		// without revealing it.
		parts = append(parts, ref.kind+"/"+ref.name+"@"+hex.EncodeToString(h.Sum(nil)))
	}
	return strings.Join(parts, " ")
}

// hashData writes data to h, the same whatever the order of its keys.
func hashData[V ~string | ~[]byte](h hash.Hash, data map[string]V) {
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(data[k]))
		h.Write([]byte(data[k]))
	}
}

type objectRef struct{ kind, name string }

// readRef reads a Secret or ConfigMap of the AppSource's own namespace from
// the API server, once per reconcile: only their metadata is cached, and a
// reconcile needs the same one for its credentials, its inputs' key, its
// decryption keys and its values. No reference can reach another namespace.
func (r *AppSourceReconciler) readRef(ctx context.Context, st *state, ref objectRef) (client.Object, error) {
	if read, ok := st.refs[ref]; ok {
		return read.obj, read.err
	}
	var obj client.Object = &corev1.Secret{}
	if ref.kind == "ConfigMap" {
		obj = &corev1.ConfigMap{}
	}
	err := r.Get(ctx, client.ObjectKey{Namespace: st.obj.Namespace, Name: ref.name}, obj)
	if st.refs == nil {
		st.refs = map[objectRef]refRead{}
	}
	st.refs[ref] = refRead{obj, err}
	return obj, err
}

// refRead is the outcome of one readRef.
type refRead struct {
	obj client.Object
	err error
}

// referenced lists the Secrets and ConfigMaps an AppSource reads.
func referenced(obj *v1alpha1.AppSource) []objectRef {
	var refs []objectRef
	if g := obj.Spec.Source.Git.SecretRef; g != nil {
		refs = append(refs, objectRef{"Secret", g.Name})
	}
	if d := obj.Spec.Decryption; d != nil {
		refs = append(refs, objectRef{"Secret", d.SecretRef.Name})
	}
	if c := chartOf(obj); c != nil && c.SecretRef != nil {
		refs = append(refs, objectRef{"Secret", c.SecretRef.Name})
	}
	if obj.Spec.Render != nil && obj.Spec.Render.Helm != nil {
		for _, repo := range obj.Spec.Render.Helm.Repositories {
			if repo.SecretRef != nil {
				refs = append(refs, objectRef{"Secret", repo.SecretRef.Name})
			}
		}
		for _, v := range obj.Spec.Render.Helm.ValuesFrom {
			refs = append(refs, objectRef{v.Kind, v.Name})
		}
	}
	if obj.Spec.Render != nil && obj.Spec.Render.Kustomize != nil {
		for _, v := range obj.Spec.Render.Kustomize.SubstituteFrom {
			refs = append(refs, objectRef{v.Kind, v.Name})
		}
	}
	return refs
}

// referencesIndex indexes AppSources by the "Kind/name" of each Secret and
// ConfigMap they read.
const referencesIndex = "driftless.references"

func referenceKeys(o client.Object) []string {
	var keys []string
	for _, ref := range referenced(o.(*v1alpha1.AppSource)) {
		keys = append(keys, ref.kind+"/"+ref.name)
	}
	return keys
}

// referencing maps a Secret or ConfigMap to the AppSources of its namespace
// that read it, so that a changed key or value is applied at once. Only
// those labelled v1alpha1.WatchLabel are watched.
func (r *AppSourceReconciler) referencing(kind string) handler.TypedMapFunc[*metav1.PartialObjectMetadata, reconcile.Request] {
	return func(ctx context.Context, o *metav1.PartialObjectMetadata) []reconcile.Request {
		var list v1alpha1.AppSourceList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{referencesIndex: kind + "/" + o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
			return nil
		}
		return r.woken(list.Items, byInput)
	}
}
