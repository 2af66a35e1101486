package bluegreen

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	// Blue is one of the two colours.
	Blue = "blue"
	// Green is the other colour.
	Green = "green"
	// ColorLabel marks each colour's objects; it is in every copy's selector and template labels.
	ColorLabel = "deploy.driftless.dev/color"
	// ReleaseAnnotation on each colour Deployment holds the release hash (see Colorize).
	ReleaseAnnotation = "deploy.driftless.dev/release"
)

// Other returns the other colour: Other(Blue) == Green, Other(Green) == Blue; Other("") == Blue,
// so the first release of an application goes to blue.
func Other(color string) string {
	if color == Blue {
		return Green
	}
	return Blue
}

// Name returns the colour copy's name: Name("web", Green) == "web-green".
func Name(name, color string) string {
	return name + "-" + color
}

// Options says which colour a release goes to and which colour each Service selects.
type Options struct {
	Color           string   // the colour the rendered workloads go to
	ActiveColor     string   // the colour the active Services select
	PreviewColor    string   // the colour the preview Services select
	ActiveServices  []string // Service names (matched by name in any namespace of objs)
	PreviewServices []string
	// Replicas sets spec.replicas of the colour copy of a Deployment, by "namespace/name" of the
	// rendered (colour-neutral) Deployment; used when an HPA manages it, so the new colour starts
	// at the live size. Missing keys keep the rendered replicas.
	Replicas map[string]int32
}

// Colorize returns the objects to apply for one release in opts.Color, and the release hash.
//
// Each Deployment is replaced in place by its colour copy, and each ConfigMap or Secret its pod
// template uses is followed by its colour copy; the original stays, since other objects may use
// it. Named Services select their colour, and HorizontalPodAutoscalers of a Deployment follow
// the active colour. objs is not modified.
func Colorize(objs []*unstructured.Unstructured, opts Options) (out []*unstructured.Unstructured, release string, err error) {
	if err := checkColor("color", opts.Color); err != nil {
		return nil, "", err
	}
	r := newRendered(objs)
	if err := r.checkCollisions(); err != nil {
		return nil, "", err
	}
	services, err := serviceColors(objs, opts)
	if err != nil {
		return nil, "", err
	}
	if release, err = r.hash(); err != nil {
		return nil, "", err
	}
	c := colorizer{rendered: r, opts: opts, services: services, release: release}
	out = make([]*unstructured.Unstructured, 0, len(objs)+len(r.configs))
	for _, obj := range objs {
		copies, err := c.colorize(obj)
		if err != nil {
			return nil, "", err
		}
		out = append(out, copies...)
	}
	return out, release, nil
}

// colorizer holds what one Colorize call decided before it turns each object.
type colorizer struct {
	rendered *rendered
	opts     Options
	services map[string]string // Service name → colour it selects
	release  string
}

// colorize returns the objects that replace obj in the output, in order.
func (c colorizer) colorize(obj *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	cp := obj.DeepCopy()
	switch {
	case isDeployment(obj):
		return one(cp, c.deployment(cp))
	case c.rendered.configs[idOf(obj)] != nil:
		config, err := c.configCopy(obj)
		return []*unstructured.Unstructured{cp, config}, err
	case isService(obj) && c.services[obj.GetName()] != "":
		return one(cp, selectColor(cp, c.services[obj.GetName()]))
	case isAutoscaler(obj):
		return one(cp, c.autoscaler(cp))
	}
	return []*unstructured.Unstructured{cp}, nil
}

// deployment turns a copy of a rendered Deployment into its colour copy.
func (c colorizer) deployment(d *unstructured.Unstructured) error {
	id := idOf(d)
	if mapAt(d.Object, "spec", "selector") == nil {
		return fmt.Errorf("%s: has no spec.selector to add the colour label to", id)
	}
	key := workloadKey(d)
	d.SetName(Name(d.GetName(), c.opts.Color))
	for _, path := range [][]string{
		{"metadata", "labels", ColorLabel},
		{"spec", "selector", "matchLabels", ColorLabel},
		{"spec", "template", "metadata", "labels", ColorLabel},
	} {
		if err := unstructured.SetNestedField(d.Object, c.opts.Color, path...); err != nil {
			return fmt.Errorf("%s: add the colour label: %w", id, err)
		}
	}
	if err := unstructured.SetNestedField(d.Object, c.release, "metadata", "annotations", ReleaseAnnotation); err != nil {
		return fmt.Errorf("%s: add the release annotation: %w", id, err)
	}
	if n, ok := c.opts.Replicas[key]; ok {
		if err := unstructured.SetNestedField(d.Object, int64(n), "spec", "replicas"); err != nil {
			return fmt.Errorf("%s: set replicas: %w", id, err)
		}
	}
	visitRefs(d.Object, func(kind, name string) string {
		if c.rendered.configs[objectID{kind: kind, namespace: id.namespace, name: name}] != nil {
			return Name(name, c.opts.Color)
		}
		return name
	})
	return nil
}

// configCopy returns the colour copy of a ConfigMap or Secret that a Deployment uses.
func (c colorizer) configCopy(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	cp := obj.DeepCopy()
	cp.SetName(Name(obj.GetName(), c.opts.Color))
	if err := unstructured.SetNestedField(cp.Object, c.opts.Color, "metadata", "labels", ColorLabel); err != nil {
		return nil, fmt.Errorf("%s: add the colour label: %w", idOf(obj), err)
	}
	return cp, nil
}

// autoscaler points a HorizontalPodAutoscaler of a rendered Deployment at its active colour,
// so the colour serving traffic is the one that scales with it.
func (c colorizer) autoscaler(hpa *unstructured.Unstructured) error {
	ref := mapAt(hpa.Object, "spec", "scaleTargetRef")
	name, _ := ref["name"].(string)
	target := objectID{group: "apps", kind: "Deployment", namespace: hpa.GetNamespace(), name: name}
	if ref["kind"] != "Deployment" || !appsGroup(ref["apiVersion"]) || !c.rendered.deployments[target] {
		return nil
	}
	if err := checkColor("activeColor", c.opts.ActiveColor); err != nil {
		return fmt.Errorf("%s: %w", idOf(hpa), err)
	}
	ref["name"] = Name(name, c.opts.ActiveColor)
	return nil
}

// serviceList is one of the Service options with the colour its Services select; the field
// names are the options' names in the AppSource, for messages.
type serviceList struct {
	field, colorField, color string
	names                    []string
}

// serviceColors returns the colour each named Service selects, by Service name, after checking
// that the names are in the render and in one list only.
func serviceColors(objs []*unstructured.Unstructured, opts Options) (map[string]string, error) {
	rendered := map[string]bool{}
	for _, obj := range objs {
		if isService(obj) {
			rendered[obj.GetName()] = true
		}
	}
	colors := map[string]string{}
	listOf := map[string]string{}
	for _, l := range []serviceList{
		{"activeServices", "activeColor", opts.ActiveColor, opts.ActiveServices},
		{"previewServices", "previewColor", opts.PreviewColor, opts.PreviewServices},
	} {
		if len(l.names) > 0 {
			if err := checkColor(l.colorField, l.color); err != nil {
				return nil, err
			}
		}
		for _, name := range l.names {
			if other, ok := listOf[name]; ok && other != l.field {
				return nil, fmt.Errorf("%s and %s both name Service %q", other, l.field, name)
			}
			if !rendered[name] {
				return nil, fmt.Errorf("%s: Service %q is not in the render", l.field, name)
			}
			listOf[name], colors[name] = l.field, l.color
		}
	}
	return colors, nil
}

// selectColor makes a Service select one colour only, on top of its own selector.
func selectColor(svc *unstructured.Unstructured, color string) error {
	// A Service without a selector has its endpoints managed by hand: adding the colour label
	// would make it select every pod of that colour in the namespace.
	if len(mapAt(svc.Object, "spec", "selector")) == 0 {
		return fmt.Errorf("%s: has no selector to switch between colours", idOf(svc))
	}
	if err := unstructured.SetNestedField(svc.Object, color, "spec", "selector", ColorLabel); err != nil {
		return fmt.Errorf("%s: select the %s colour: %w", idOf(svc), color, err)
	}
	return nil
}

// checkColor fails unless color is Blue or Green; field names the option for the message.
func checkColor(field, color string) error {
	if color != Blue && color != Green {
		return fmt.Errorf("%s %q is neither %q nor %q", field, color, Blue, Green)
	}
	return nil
}

// one returns obj alone, or err.
func one(obj *unstructured.Unstructured, err error) ([]*unstructured.Unstructured, error) {
	if err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{obj}, nil
}
