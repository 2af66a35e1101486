package apply

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what happened to one object.
type Action string

// Actions of a change set.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Recreated  Action = "recreated"
	Deleted    Action = "deleted"
	Skipped    Action = "skipped"
)

// Change is what happened to one object.
type Change struct {
	// Object is "Kind/namespace/name".
	Object string
	// Entry is the object's inventory entry.
	Entry Entry
	// Action taken.
	Action Action
	// Drift is true when the object was rewritten because someone else had
	// changed fields we manage, not because Git changed.
	Drift bool
	// Reason says why an object was skipped.
	Reason string
	// Generation is the object's metadata.generation after the apply: a
	// cache that shows an older one has not seen the apply yet.
	Generation int64
	// Applied is the object as the API server returned it from the apply;
	// nil when nothing was written.
	Applied *unstructured.Unstructured
}

func (c Change) String() string {
	s := c.Object + " " + string(c.Action)
	if c.Drift {
		s += " (drift corrected)"
	}
	if c.Reason != "" {
		s += ": " + c.Reason
	}
	return s
}

// ChangeSet lists what happened to each object, in the order applied.
type ChangeSet []Change

// Count returns how many changes took action a.
func (cs ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs {
		if c.Action == a {
			n++
		}
	}
	return n
}

// WithoutObjects returns a copy of cs without the applied objects: the
// part worth keeping after the reconcile.
func (cs ChangeSet) WithoutObjects() ChangeSet {
	out := make(ChangeSet, len(cs))
	for i, c := range cs {
		c.Applied = nil
		out[i] = c
	}
	return out
}

// Unchanged returns cs as a drift check that found every object as applied
// reports it: each change unchanged, but those skipped.
func (cs ChangeSet) Unchanged() ChangeSet {
	out := make(ChangeSet, len(cs))
	for i, c := range cs {
		if c.Action != Skipped {
			c.Action, c.Drift = Unchanged, false
		}
		out[i] = c
	}
	return out
}

// Changed reports whether anything was written or deleted.
func (cs ChangeSet) Changed() bool {
	for _, c := range cs {
		if c.Action != Unchanged && c.Action != Skipped {
			return true
		}
	}
	return false
}

// Drifted counts the objects whose drift was corrected.
func (cs ChangeSet) Drifted() int {
	n := 0
	for _, c := range cs {
		if c.Drift {
			n++
		}
	}
	return n
}

// Summary is "2 created, 12 configured, 3 unchanged", omitting zero counts.
func (cs ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Recreated, Unchanged, Deleted, Skipped} {
		if n := cs.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// String lists one change per line.
func (cs ChangeSet) String() string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}
