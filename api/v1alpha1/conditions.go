package v1alpha1

// Condition types. Ready, Reconciling and Stalled follow kstatus, so
// `kubectl wait --for=condition=Ready` and kstatus-aware tools understand them.
const (
	// ReadyCondition is True when the last revision is applied and healthy.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while the controller works towards Ready.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when only a spec change can make progress.
	StalledCondition = "Stalled"
	// HealthyCondition is True when every applied object is Current.
	HealthyCondition = "Healthy"
	// PromotedCondition is False while a revision waits for its upstreams.
	PromotedCondition = "Promoted"
)

// Condition reasons.
const (
	ReconciliationSucceededReason = "ReconciliationSucceeded"
	ProgressingReason             = "Progressing"
	SuspendedReason               = "Suspended"
	SourceUnavailableReason       = "SourceUnavailable"
	RevisionNotFoundReason        = "RevisionNotFound"
	ChartUnavailableReason        = "ChartUnavailable"
	ChartVersionNotFoundReason    = "ChartVersionNotFound"
	PathInvalidReason             = "PathInvalid"
	PathOutOfBoundsReason         = "PathOutOfBounds"
	SymlinkOutOfBoundsReason      = "SymlinkOutOfBounds"
	LimitExceededReason           = "LimitExceeded"
	DecryptionFailedReason        = "DecryptionFailed"
	BuildFailedReason             = "BuildFailed"
	AccessDeniedReason            = "AccessDenied"
	ApplyFailedReason             = "ApplyFailed"
	OwnershipConflictReason       = "OwnershipConflict"
	ImmutableFieldReason          = "ImmutableField"
	PruneFailedReason             = "PruneFailed"
	HealthCheckFailedReason       = "HealthCheckFailed"
	HookFailedReason              = "HookFailed"
	CurrentReason                 = "Current"
	DependencyNotReadyReason      = "DependencyNotReady"
	AwaitingPromotionReason       = "AwaitingPromotion"
	PromotedReason                = "Promoted"
	ManualPromotionReason         = "ManualPromotion"
	RolledBackReason              = "RolledBack"
	AbortedReason                 = "Aborted"
	InvalidSpecReason             = "InvalidSpec"
	// PruneAwaitingConfirmationReason: the revision is applied and healthy,
	// and objects of protected kinds that left Git wait for confirmation
	// (status.pendingPrune).
	PruneAwaitingConfirmationReason = "PruneAwaitingConfirmation"
	// ReconcilePanicReason: a step panicked; the message names it. Nothing
	// is marked good and the next reconcile retries.
	ReconcilePanicReason = "ReconcilePanic"
)

// Annotations that people and the CLI set to ask for something, and that
// manifests in Git set to opt an object out.
const (
	// ReconcileRequestAnnotation asks for an immediate reconcile; any new value does.
	ReconcileRequestAnnotation = "deploy.driftless.dev/reconcile-requested-at"
	// PromoteAnnotation promotes a waiting blue-green colour, or a revision.
	PromoteAnnotation = "deploy.driftless.dev/promote"
	// AbortAnnotation aborts the current blue-green release.
	AbortAnnotation = "deploy.driftless.dev/abort"
	// ConfirmPruneAnnotation confirms the deletion of the objects listed in
	// status.pendingPrune when it was set; any new value does.
	ConfirmPruneAnnotation = "deploy.driftless.dev/confirm-prune"
	// PruneAnnotation set to "disabled" on an object in Git keeps it from prune.
	PruneAnnotation = "deploy.driftless.dev/prune"
	// ForceAnnotation set to "enabled" recreates an object whose immutable
	// fields changed.
	ForceAnnotation = "deploy.driftless.dev/force"
)

// Labels the controller puts on what it manages.
const (
	// NameLabel and NamespaceLabel name the owning AppSource on every applied object.
	NameLabel      = "deploy.driftless.dev/name"
	NamespaceLabel = "deploy.driftless.dev/namespace"
	// ColorLabel is blue or green on blue-green workloads.
	ColorLabel = "deploy.driftless.dev/color"
	// ShardLabel on an AppSource names the manager shard (--shard) that
	// reconciles it; AppSources without it belong to the unsharded manager.
	ShardLabel = "deploy.driftless.dev/shard"
	// WatchLabel set to "enabled" on a Secret or ConfigMap that AppSources
	// read (credentials, decryption keys, Helm values) reconciles them as
	// soon as it changes; any other is read afresh at each reconcile, so
	// its change reaches the cluster at the next interval. Only labelled
	// ones are watched: the manager's memory does not grow with the
	// cluster's Secrets and ConfigMaps.
	WatchLabel = "deploy.driftless.dev/watch"
)

// Finalizer lets the controller prune the inventory before an AppSource goes.
const Finalizer = "deploy.driftless.dev/finalizer"

// FieldManager is the server-side apply field manager of the controller.
const FieldManager = "driftless"
