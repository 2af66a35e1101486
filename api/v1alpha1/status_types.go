package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AppSourceStatus is what the controller observed and did.
type AppSourceStatus struct {
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled (kstatus), Healthy and Promoted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAttemptedRevision is the revision of the last reconcile, good or not.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// LastAppliedRevision is the last revision applied to the cluster.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastGoodRevision is the last revision that applied and became healthy.
	// +optional
	LastGoodRevision string `json:"lastGoodRevision,omitempty"`

	// LastGoodTime is when lastGoodRevision became good; promotion's soak
	// time counts from it.
	// +optional
	LastGoodTime *metav1.Time `json:"lastGoodTime,omitempty"`

	// PendingRevision is the head revision that waits for promotion: the
	// AppSources of spec.promotion.after have not proven it yet.
	// +optional
	PendingRevision string `json:"pendingRevision,omitempty"`

	// LastHandledReconcileAt is the value of the reconcile-requested-at
	// annotation that the last reconcile handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// LastHandledPromoteAt is the value of the promote annotation that the
	// controller last acted on, or that a new release found and set aside.
	// +optional
	LastHandledPromoteAt string `json:"lastHandledPromoteAt,omitempty"`

	// LastHandledAbortAt is the value of the abort annotation that the
	// controller last acted on, or that a new release found and set aside.
	// +optional
	LastHandledAbortAt string `json:"lastHandledAbortAt,omitempty"`

	// LastHandledPruneConfirmation is the value of the confirm-prune
	// annotation that the controller last acted on.
	// +optional
	LastHandledPruneConfirmation string `json:"lastHandledPruneConfirmation,omitempty"`

	// PendingPrune names the Namespaces, PersistentVolumeClaims and
	// CustomResourceDefinitions that left Git and wait for a person's
	// confirmation (the confirm-prune annotation) before they are deleted.
	// They stay in the inventory until then.
	// +optional
	PendingPrune []string `json:"pendingPrune,omitempty"`

	// Inventory lists the objects applied from the last applied revision; only
	// these are ever pruned.
	// +optional
	Inventory *Inventory `json:"inventory,omitempty"`

	// Hooks says how far the Helm hooks of the release last rendered ran.
	// +optional
	Hooks *HooksStatus `json:"hooks,omitempty"`

	// Rollout is the progress of the current rollout.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// History lists recent reconciles that changed or failed, newest first.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	History []HistoryEntry `json:"history,omitempty"`
}

// Inventory is a compact list of applied objects.
type Inventory struct {
	// Entries, one per object.
	// +optional
	Entries []InventoryEntry `json:"entries"`
}

// InventoryEntry identifies one applied object.
type InventoryEntry struct {
	// ID is "<namespace>_<name>_<group>_<kind>"; the namespace is empty for
	// cluster-scoped objects.
	ID string `json:"id"`

	// Version is the API version the object was applied with.
	Version string `json:"v"`
}

// RolloutPhase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Previewing;Promoting;ScalingDown;Succeeded;Failed;RolledBack;Aborted
type RolloutPhase string

// Rollout phases.
const (
	// RolloutProgressing: the new revision is applied and its workloads are rolling.
	RolloutProgressing RolloutPhase = "Progressing"
	// RolloutPreviewing: blue-green's new colour is ready and waits for promotion.
	RolloutPreviewing RolloutPhase = "Previewing"
	// RolloutPromoting: blue-green's active Services are being switched.
	RolloutPromoting RolloutPhase = "Promoting"
	// RolloutScalingDown: switched; the old colour waits for its scale-down delay.
	RolloutScalingDown RolloutPhase = "ScalingDown"
	// RolloutSucceeded: every workload runs the new revision and is available.
	RolloutSucceeded RolloutPhase = "Succeeded"
	// RolloutFailed: the new revision did not become healthy.
	RolloutFailed RolloutPhase = "Failed"
	// RolloutRolledBack: the revision failed and the last good one was re-applied.
	RolloutRolledBack RolloutPhase = "RolledBack"
	// RolloutAborted: blue-green's new colour was abandoned; nothing was switched.
	RolloutAborted RolloutPhase = "Aborted"
)

// Reason is the Ready condition reason a rollout that stopped in this phase
// shows.
func (p RolloutPhase) Reason() string {
	switch p {
	case RolloutRolledBack:
		return RolledBackReason
	case RolloutAborted:
		return AbortedReason
	}
	return HealthCheckFailedReason
}

// RolloutPhases lists every phase, in the order a rollout meets them.
var RolloutPhases = []RolloutPhase{
	RolloutProgressing, RolloutPreviewing, RolloutPromoting, RolloutScalingDown,
	RolloutSucceeded, RolloutFailed, RolloutRolledBack, RolloutAborted,
}

// RolloutStatus is the progress of the current rollout.
type RolloutStatus struct {
	// Phase of the rollout.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`

	// Revision being rolled out.
	// +optional
	Revision string `json:"revision,omitempty"`

	// HeldRevision failed and is not applied again until Git moves past it.
	// +optional
	HeldRevision string `json:"heldRevision,omitempty"`

	// ActiveColor is the colour the active Services select (blue-green).
	// +optional
	ActiveColor string `json:"activeColor,omitempty"`

	// PreviewColor is the colour the new revision runs in (blue-green).
	// +optional
	PreviewColor string `json:"previewColor,omitempty"`

	// Message says what the rollout waits for or why it stopped.
	// +optional
	Message string `json:"message,omitempty"`

	// Workloads is the progress of each workload of the rollout.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Workloads []WorkloadStatus `json:"workloads,omitempty"`

	// LastTransitionTime is when the phase last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// WorkloadStatus is the progress of one workload.
type WorkloadStatus struct {
	// Name is "<Kind>/<namespace>/<name>".
	Name string `json:"name"`
	// Replicas wanted.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas run the new template.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas have been ready for minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
}

// HistoryEntry records one reconcile that changed the cluster or failed.
type HistoryEntry struct {
	// Revision reconciled.
	Revision string `json:"revision"`
	// Result is the reason of the Ready condition it ended with.
	Result string `json:"result"`
	// Message is a short summary, such as the change set.
	// +optional
	Message string `json:"message,omitempty"`
	// TriggeredBy says what started it: spec, request, webhook, rollout (a
	// managed workload changed), input (a Secret or ConfigMap it reads
	// changed), upstream (an AppSource it depends on changed) or interval.
	// +optional
	TriggeredBy string `json:"triggeredBy,omitempty"`
	// StartedAt is when the reconcile began.
	StartedAt metav1.Time `json:"startedAt"`
	// FinishedAt is when it ended.
	FinishedAt metav1.Time `json:"finishedAt"`
}

// HooksStatus is how far the Helm hooks of one release ran: its
// pre-install or pre-upgrade hooks before its other objects, its
// post-install or post-upgrade hooks once they were healthy.
type HooksStatus struct {
	// Release names the release: its revision and a digest of its objects.
	Release string `json:"release"`
	// Install is true when nothing was applied before the release: its
	// install hooks run, not its upgrade hooks.
	// +optional
	Install bool `json:"install,omitempty"`
	// PreDone is true once its pre-install or pre-upgrade hooks completed.
	// +optional
	PreDone bool `json:"preDone,omitempty"`
	// PostDone is true once its post-install or post-upgrade hooks completed.
	// +optional
	PostDone bool `json:"postDone,omitempty"`
}
