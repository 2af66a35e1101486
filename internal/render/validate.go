package render

import (
	"fmt"
)

// objectKey identifies an object in a cluster: a version of the same kind is
// the same object.
type objectKey struct {
	group, kind, namespace, name string
}

// String names the object as "group/Kind namespace/name".
func (k objectKey) String() string {
	s := k.kind
	if k.group != "" {
		s = k.group + "/" + k.kind
	}
	if k.namespace != "" {
		return s + " " + k.namespace + "/" + k.name
	}
	return s + " " + k.name
}

func keyOf(o object) objectKey {
	gvk := o.u.GroupVersionKind()
	return objectKey{group: gvk.Group, kind: gvk.Kind, namespace: o.u.GetNamespace(), name: o.u.GetName()}
}

// validate checks that every object can be applied by name and that no
// object appears twice, naming both sources when one does.
func validate(objs []object) error {
	seen := make(map[objectKey]object, len(objs))
	for _, o := range objs {
		if err := validateObject(o); err != nil {
			return err
		}
		k := keyOf(o)
		if first, dup := seen[k]; dup {
			return &Error{Reason: BuildFailed, File: o.file, Line: o.line,
				Err: fmt.Errorf("duplicate object %s: also in %s", k, first.origin())}
		}
		seen[k] = o
	}
	return nil
}

// validateObject checks the fields server-side apply needs.
func validateObject(o object) error {
	fail := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		if o.template != "" {
			err = fmt.Errorf("%s: %w", o.template, err)
		}
		return &Error{Reason: BuildFailed, File: o.file, Line: o.line, Err: err}
	}
	apiVersion, _ := o.u.Object["apiVersion"].(string)
	kind, _ := o.u.Object["kind"].(string)
	switch {
	case apiVersion == "":
		return fail("object has no apiVersion")
	case kind == "":
		return fail("object has no kind")
	}
	if _, ok := o.u.Object["metadata"].(map[string]any); !ok {
		return fail("%s has no metadata", kind)
	}
	if o.u.GetName() == "" {
		if o.u.GetGenerateName() != "" {
			return fail("%s has only metadata.generateName: an applied object needs metadata.name", kind)
		}
		return fail("%s has no metadata.name", kind)
	}
	return nil
}
