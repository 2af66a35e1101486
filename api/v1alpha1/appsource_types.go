package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AppSource says: this path of this Git repository, at this ref, is what must
// run in this namespace, rolled out this way.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=appsrc,categories=driftless
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.lastAppliedRevision`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.strategy.type`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.rollout.phase`
// +kubebuilder:printcolumn:name="Pending",type=string,JSONPath=`.status.pendingRevision`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
type AppSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AppSourceSpec   `json:"spec,omitempty"`
	Status AppSourceStatus `json:"status,omitempty"`
}

// AppSourceList is a list of AppSources.
//
// +kubebuilder:object:root=true
type AppSourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppSource `json:"items"`
}

// AppSourceSpec is the desired state: where the manifests come from, how they
// are rendered and how they are rolled out.
type AppSourceSpec struct {
	// Interval is how often Git is polled and drift is corrected.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s')",message="interval must be at least 10s"
	// +required
	Interval metav1.Duration `json:"interval"`

	// RetryInterval is how long to wait after a failed reconcile. Defaults to Interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Timeout bounds one reconcile, from fetch to health. Defaults to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Suspend stops reconciling: nothing is fetched, applied or pruned.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Source is the Git repository and the path inside it.
	// +required
	Source Source `json:"source"`

	// Render chooses the engine. Empty means detect: a kustomization file
	// means kustomize, Chart.yaml means Helm, otherwise a directory of YAML.
	// +optional
	Render *Render `json:"render,omitempty"`

	// Decryption decrypts SOPS-encrypted files of the checkout before rendering.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// TargetNamespace is set on every namespaced object that names no namespace.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// ServiceAccountName is the account in the AppSource's namespace that the
	// controller impersonates to apply and prune.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Prune deletes objects that were applied before and are no longer
	// rendered. Defaults to true. A pointer, so that false sent by a Go
	// client is kept and an unset field gets the default.
	// +kubebuilder:default=true
	// +optional
	Prune *bool `json:"prune,omitempty"`

	// HealthChecks read the health of custom resources whose readiness is
	// not a standard condition, with CEL, as Flux's healthCheckExprs do;
	// other kinds are read with kstatus.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`

	// Ignore lists fields of some objects that belong to someone else (a
	// CA bundle another controller injects, a field an operator sets): they
	// are left out of what is applied, so they are never ours and a change
	// to them is never drift, as Argo CD's ignoreDifferences. An object
	// may list its own in the deploy.driftless.dev/ignore annotation.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`

	// DependsOn lists AppSources that must be Ready before this one is applied.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	DependsOn []AppSourceReference `json:"dependsOn,omitempty"`

	// Promotion applies a revision only once other AppSources ran it healthy.
	// +optional
	Promotion *Promotion `json:"promotion,omitempty"`

	// Strategy is how a new revision replaces the running one.
	// +kubebuilder:default={type: Rolling}
	// +optional
	Strategy Strategy `json:"strategy,omitempty"`
}

// PruneEnabled reports whether objects that left Git are deleted.
func (s *AppSourceSpec) PruneEnabled() bool {
	return s.Prune == nil || *s.Prune
}

// Source names a path of a Git repository.
type Source struct {
	// Git is the repository and the ref to follow.
	// +required
	Git GitSource `json:"git"`

	// Path is the directory to render, relative to the repository root.
	// Empty means the root.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/')",message="path must be relative to the repository root"
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.](/|$)')",message="path must not contain '..'"
	// +optional
	Path string `json:"path,omitempty"`
}

// GitSource is a repository URL, a ref and optional credentials.
type GitSource struct {
	// URL of the repository; https:// or ssh:// only, without credentials.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') || self.startsWith('ssh://')",message="url must start with https:// or ssh://"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^https://[^/]*@')",message="url must not carry credentials: put them in the Secret named by secretRef"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^ssh://[^/@]*:[^/@]*@')",message="url must not carry a password: put an identity in the Secret named by secretRef"
	// +required
	URL string `json:"url"`

	// Ref is the branch, tag, semver range or commit to follow.
	// +required
	Ref GitRef `json:"ref"`

	// SecretRef names a Secret in the AppSource's namespace with either
	// username and password, or bearerToken (both with an optional caFile), for
	// HTTPS; or identity and known_hosts for SSH.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GitRef is exactly one of a branch, a tag, a semver range over tags or a commit.
//
// +kubebuilder:validation:XValidation:rule="[has(self.branch), has(self.tag), has(self.semver), has(self.commit)].filter(x, x).size() == 1",message="set exactly one of branch, tag, semver or commit"
type GitRef struct {
	// Branch to follow.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to follow.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a constraint over tags, such as ">=1.2 <2"; the highest match wins.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Commit pins a full SHA-1 commit hash.
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$`
	// +optional
	Commit string `json:"commit,omitempty"`
}

// IgnoreRule names fields of the objects a target selects.
type IgnoreRule struct {
	// Target selects the objects, as a patch target does; without one,
	// every object.
	// +optional
	Target *PatchTarget `json:"target,omitempty"`

	// Paths are JSON pointers (RFC 6901) of the fields, e.g.
	// /spec/replicas or /webhooks/0/clientConfig/caBundle. A pointer to a
	// field the object does not set ignores nothing.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +kubebuilder:validation:items:Pattern=`^/`
	Paths []string `json:"paths"`
}

// Decryption configures SOPS decryption.
type Decryption struct {
	// Provider is the only supported decryption provider: sops.
	// +kubebuilder:validation:Enum=sops
	// +kubebuilder:default=sops
	// +optional
	Provider string `json:"provider,omitempty"`

	// SecretRef names a Secret in the AppSource's namespace whose *.agekey
	// entries hold age identities.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
}

// Promotion gates a revision on other AppSources having run it healthy.
type Promotion struct {
	// After lists the AppSources that must have this revision, or a newer
	// commit containing it, as their lastGoodRevision.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +required
	After []AppSourceReference `json:"after"`

	// SoakSeconds is how long the upstreams must have been good at the revision.
	// +kubebuilder:validation:Minimum=0
	// +optional
	SoakSeconds int32 `json:"soakSeconds,omitempty"`
}

// StrategyType names a rollout strategy.
// +kubebuilder:validation:Enum=Rolling;BlueGreen
type StrategyType string

const (
	// StrategyRolling applies workloads as rendered; Kubernetes rolls them.
	StrategyRolling StrategyType = "Rolling"
	// StrategyBlueGreen runs two colours of each Deployment and switches Services.
	StrategyBlueGreen StrategyType = "BlueGreen"
)

// Strategy is how a new revision replaces the running one. Only the block of
// the chosen type may be set.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'Rolling' || !has(self.rolling)",message="rolling may be set only when type is Rolling"
// +kubebuilder:validation:XValidation:rule="self.type == 'BlueGreen' || !has(self.blueGreen)",message="blueGreen may be set only when type is BlueGreen"
type Strategy struct {
	// Type is Rolling (the default) or BlueGreen.
	// +kubebuilder:default=Rolling
	// +optional
	Type StrategyType `json:"type,omitempty"`

	// Rolling configures the Rolling strategy.
	// +optional
	Rolling *RollingStrategy `json:"rolling,omitempty"`

	// BlueGreen configures the BlueGreen strategy.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// RollingStrategy configures rolling updates.
type RollingStrategy struct {
	// AutoRollback re-applies the last good revision when a rollout fails, and
	// holds the failed commit until Git moves to a newer one.
	// +optional
	AutoRollback bool `json:"autoRollback,omitempty"`
}

// BlueGreenStrategy configures blue-green releases of Deployments.
type BlueGreenStrategy struct {
	// ActiveServices select the active colour; they are switched together.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	ActiveServices []string `json:"activeServices,omitempty"`

	// PreviewServices select the new colour before promotion.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	PreviewServices []string `json:"previewServices,omitempty"`

	// AutoPromotionEnabled promotes the new colour once it is ready; when false,
	// promotion waits for the deploy.driftless.dev/promote annotation.
	// +kubebuilder:default=true
	// +optional
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`

	// AutoPromotionSeconds is how long to wait after the new colour is ready.
	// +kubebuilder:validation:Minimum=0
	// +optional
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`

	// ScaleDownDelaySeconds keeps the old colour this long after the switch.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=30
	// +optional
	ScaleDownDelaySeconds int32 `json:"scaleDownDelaySeconds,omitempty"`

	// AbortScaleDownDelaySeconds keeps an aborted new colour this long.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=30
	// +optional
	AbortScaleDownDelaySeconds int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}

// LocalObjectReference names an object in the AppSource's own namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// AppSourceReference names another AppSource.
type AppSourceReference struct {
	// Name of the AppSource.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the AppSource; defaults to this AppSource's namespace.
	// Other namespaces are refused unless the operator allows them.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// HealthCheck reads the health of one kind with CEL expressions. Each sees
// the object's top-level fields (apiVersion, kind, metadata, spec, status;
// an absent one is an empty map) and returns a bool, e.g.
// status.conditions.exists(c, c.type == 'Ready' && c.status == 'True').
// They are evaluated in the order inProgress, failed, current: the first
// true one decides, and none true is InProgress. A Failed object fails the
// revision (and rolls it back where the strategy says so).
// +kubebuilder:validation:XValidation:rule="has(self.current) || has(self.failed) || has(self.inProgress)",message="at least one of current, failed and inProgress"
type HealthCheck struct {
	// APIVersion is the group/version of the kind, e.g. shop.example.com/v1.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +required
	APIVersion string `json:"apiVersion"`
	// Kind of the objects this check reads.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Kind string `json:"kind"`
	// Current is true once the object is reconciled and available.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Current string `json:"current,omitempty"`
	// InProgress is true while it is on its way.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	InProgress string `json:"inProgress,omitempty"`
	// Failed is true when it will not get there without a change.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Failed string `json:"failed,omitempty"`
}
