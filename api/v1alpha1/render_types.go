package v1alpha1

import "k8s.io/apimachinery/pkg/runtime"

// The render block of an AppSource: kustomize, Helm, and what changes their
// objects before they are applied.

// Render chooses at most one rendering engine.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.kustomize) && has(self.helm))",message="set at most one of kustomize or helm"
type Render struct {
	// Kustomize renders the path as a kustomization.
	// +optional
	Kustomize *KustomizeRender `json:"kustomize,omitempty"`

	// Helm renders the path as a Helm chart.
	// +optional
	Helm *HelmRender `json:"helm,omitempty"`
}

// KustomizeRender renders the path with kustomize, or as plain YAML when
// it holds no kustomization; its patches and images apply either way.
type KustomizeRender struct {
	PostBuild `json:",inline"`

	// Substitute are variables that replace ${name} (and ${name:=default}
	// and the other bash-like forms, with Flux's syntax; $${name} is
	// literal) in the rendered objects, over those of substituteFrom. Set
	// either, and a variable with no value and no default is BuildFailed.
	// An object annotated deploy.driftless.dev/substitute: disabled (or
	// Flux's kustomize.toolkit.fluxcd.io/substitute) is left alone.
	// +kubebuilder:validation:MaxProperties=256
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[_a-zA-Z][_a-zA-Z0-9]*$'))",message="a variable's name is letters, digits and _, not starting with a digit"
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom reads variables from every key of ConfigMaps and
	// Secrets of the AppSource's namespace, later ones over earlier ones.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret whose keys are variables.
type SubstituteReference struct {
	// Kind is Secret or ConfigMap.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the object, in the AppSource's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Optional makes a missing object no error.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// PostBuild changes the rendered objects before they are applied, as a
// kustomization listing them would.
type PostBuild struct {
	// NamePrefix is prepended to every object's name, and to the
	// references to it, as kustomize's namePrefix.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to every object's name, and to the references
	// to it.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// CommonMetadata adds labels and annotations to every object's
	// metadata, and not to selectors or pod templates (as Flux's).
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// Patches are strategic merge or JSON 6902 patches, inline, each
	// applied to the objects its target selects.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Patches []Patch `json:"patches,omitempty"`

	// Images override the name, tag or digest of container images.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Images []Image `json:"images,omitempty"`
}

// CommonMetadata is metadata for every rendered object.
type CommonMetadata struct {
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Patch is an inline patch and the objects it applies to.
type Patch struct {
	// Patch is a strategic merge patch, or a JSON 6902 patch (a list of
	// operations, which needs a target).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	// +required
	Patch string `json:"patch"`

	// Target selects the objects to patch; without one, a strategic merge
	// patch patches the object it names.
	// +optional
	Target *PatchTarget `json:"target,omitempty"`
}

// PatchTarget selects objects, as kustomize's patch targets do: group,
// version, kind, name and namespace are regular expressions; the selectors
// are label and annotation selectors. Empty fields select everything.
type PatchTarget struct {
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Group string `json:"group,omitempty"`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Version string `json:"version,omitempty"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Kind string `json:"kind,omitempty"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Image overrides the container images named Name (without tag or digest).
type Image struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +required
	Name string `json:"name"`
	// NewName replaces the image's name.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	NewName string `json:"newName,omitempty"`
	// NewTag replaces its tag.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	NewTag string `json:"newTag,omitempty"`
	// Digest replaces its tag with a digest.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Digest string `json:"digest,omitempty"`
}

// HelmRender renders a chart with values merged in Helm's order: valuesFiles,
// then valuesFrom, then values.
type HelmRender struct {
	// ReleaseName defaults to the AppSource's name.
	// +kubebuilder:validation:MaxLength=53
	// +optional
	ReleaseName string `json:"releaseName,omitempty"`

	// Chart takes the chart from a Helm repository or an OCI registry
	// instead of the path, which then holds only the values files that
	// valuesFiles names. Git still decides which chart, which versions and
	// which values: the chart version resolved joins the Git revision, as
	// web@1.4.2/main@sha1:<commit>, and a rollback or a promotion takes
	// both.
	// +optional
	Chart *HelmChart `json:"chart,omitempty"`

	// Repositories are the chart repositories that the Chart.lock of a
	// chart in Git may name: a dependency that its charts/ does not hold
	// is downloaded from one of them at the version the lock pins,
	// verified by the repository's digest, and cached, as `helm dependency
	// build` would (never `helm dependency update`). A lock that names
	// another repository is BuildFailed: no other is reached.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Repositories []HelmRepository `json:"repositories,omitempty"`

	// ValuesFiles are relative to the chart (to the path with chart set)
	// and may be SOPS-encrypted.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	ValuesFiles []string `json:"valuesFiles,omitempty"`

	// ValuesFrom reads values from keys of Secrets or ConfigMaps in the
	// AppSource's namespace.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	ValuesFrom []ValuesReference `json:"valuesFrom,omitempty"`

	// Values are inline values, with the highest priority.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	Values *runtime.RawExtension `json:"values,omitempty"`

	// CRDs says what becomes of the CustomResourceDefinitions in the
	// chart's crds/ directories: Create (the default) creates those
	// missing and never changes one that exists, as Helm does; CreateReplace
	// also updates them to the chart's; Skip leaves them out. Either way
	// they are never deleted, not even with the AppSource: deleting a CRD
	// deletes every resource of its kind in the cluster.
	// +kubebuilder:validation:Enum=Create;CreateReplace;Skip
	// +kubebuilder:default=Create
	// +optional
	CRDs CRDPolicy `json:"crds,omitempty"`

	// PostRender patches the chart's output and overrides its images
	// before it is applied, hooks and CRDs included.
	// +optional
	PostRender *PostBuild `json:"postRender,omitempty"`
}

// HelmChart names a chart of a Helm repository or an OCI registry.
type HelmChart struct {
	// Repository is https://host/path, a Helm repository whose index is
	// https://host/path/index.yaml, or oci://host/path, a registry holding
	// the chart as host/path/<name>. Charts are downloaded from this host
	// only, and only over TLS.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('oci://')",message="repository must start with https:// or oci://"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-z]+://[^/]*@')",message="repository must not carry credentials: put them in the Secret named by secretRef"
	// +required
	Repository string `json:"repository"`

	// Name of the chart.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`
	// +required
	Name string `json:"name"`

	// Version is an exact version or a semver constraint ("^1.0",
	// ">=1.2 <2", "*"), selected as Helm selects it: the newest version
	// allowed, stable versions only unless the constraint names a
	// prerelease. Empty is the newest stable version. A new version that
	// the constraint allows is taken at the next interval.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Version string `json:"version,omitempty"`

	// SecretRef names a Secret of the AppSource's namespace with username
	// and password (basic authentication, sent to the repository's host
	// only), and ca.crt: PEM certificates trusted besides the system's.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// HelmRepository is a chart repository that a chart's dependencies may
// come from, and its credentials.
type HelmRepository struct {
	// URL as Chart.yaml and Chart.lock name it: https://host/path or
	// oci://host/path.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('oci://')",message="url must start with https:// or oci://"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-z]+://[^/]*@')",message="url must not carry credentials: put them in the Secret named by secretRef"
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret of the AppSource's namespace with username,
	// password and ca.crt, as HelmChart's.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// CRDPolicy says what becomes of a chart's crds/: see HelmRender.CRDs.
type CRDPolicy string

// The CRD policies.
const (
	CRDsCreate        CRDPolicy = "Create"
	CRDsCreateReplace CRDPolicy = "CreateReplace"
	CRDsSkip          CRDPolicy = "Skip"
)

// ValuesReference names a key of a Secret or ConfigMap holding Helm values.
type ValuesReference struct {
	// Kind is Secret or ConfigMap.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the object, in the AppSource's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Key holding a YAML document of values.
	// +kubebuilder:default=values.yaml
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`

	// Optional makes a missing object or key an empty set of values, not an error.
	// +optional
	Optional bool `json:"optional,omitempty"`
}
