package controllers

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/apply"
	"github.com/driftless-dev/driftless/internal/decrypt"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/source"
)

// stepError is a failure of one step, with the condition reason it shows as.
// Anything not stalled is retried at retryInterval: a commit that does not
// render is fixed by the next commit, not by a spec change.
type stepError struct {
	reason  string
	stalled bool // only a spec change can fix it: no retry
	err     error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// failed wraps err with a reason.
func failed(reason string, err error) error {
	return &stepError{reason: reason, err: err}
}

// stalled wraps err with a reason that only a spec change clears.
func stalled(reason string, err error) error {
	return &stepError{reason: reason, stalled: true, err: err}
}

// waitingError: nothing is wrong yet; check again after a delay, or sooner
// when a watched object changes.
type waitingError struct {
	reason string
	after  time.Duration
	msg    string
}

func (e *waitingError) Error() string { return e.msg }

func waiting(reason string, after time.Duration, format string, args ...any) error {
	return &waitingError{reason: reason, after: after, msg: fmt.Sprintf(format, args...)}
}

// panicked turns a panic in step into a failure of the reconcile, logged
// with its stack: the manager keeps running and nothing is marked good.
func panicked(ctx context.Context, step string, v any) error {
	if step == "" {
		step = "start"
	}
	err := fmt.Errorf("panic in step %s: %v", step, v)
	log.FromContext(ctx).Error(err, "reconcile panicked", "step", step, "stack", string(debug.Stack()))
	reconcilePanics.WithLabelValues(step).Inc()
	return failed(v1alpha1.ReconcilePanicReason, err)
}

// sourceReason maps a fetch error to its condition reason.
func sourceReason(err error) string {
	switch {
	case errors.Is(err, source.ErrRevisionNotFound):
		return v1alpha1.RevisionNotFoundReason
	case errors.Is(err, source.ErrSymlinkOutOfBounds):
		return v1alpha1.SymlinkOutOfBoundsReason
	case errors.Is(err, source.ErrPathOutOfBounds):
		return v1alpha1.PathOutOfBoundsReason
	case errors.Is(err, source.ErrLimitExceeded):
		return v1alpha1.LimitExceededReason
	}
	return v1alpha1.SourceUnavailableReason
}

// decryptReason maps a decryption error to its condition reason.
func decryptReason(err error) string {
	if errors.Is(err, decrypt.ErrTooLarge) {
		return v1alpha1.LimitExceededReason
	}
	return v1alpha1.DecryptionFailedReason
}

// renderReason maps a render error to its condition reason.
func renderReason(err error) string {
	return string(render.ReasonOf(err))
}

// applyReason maps an apply error to its condition reason.
func applyReason(err error) string {
	var immutable *apply.ImmutableFieldError
	var owner *apply.OwnershipError
	switch {
	case errors.As(err, &immutable):
		return v1alpha1.ImmutableFieldReason
	case errors.As(err, &owner):
		return v1alpha1.OwnershipConflictReason
	case apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "exceeded quota"):
		// A quota refuses with Forbidden too; its message says so, and
		// no permission would change it.
		return v1alpha1.AccessDeniedReason
	}
	return v1alpha1.ApplyFailedReason
}
