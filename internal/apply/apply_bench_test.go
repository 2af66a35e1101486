package apply_test

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/driftless-dev/driftless/internal/apply"
)

// BenchmarkApply compares, at each size, the engine's first apply and its
// no-change apply with the practical limit: a plain loop of server-side
// apply requests with the same client settings, in the same run.
// Report first/plain as a throughput ratio and noop/plain as a time ratio.
func BenchmarkApply(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("objects=%d/plain-loop", n), func(b *testing.B) {
			c, err := client.New(cfg, client.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				b.StopTimer()
				ns, objs := benchObjects(b, n)
				mustApply(b, mustManager(b, ns), objs[:1], apply.Options{Concurrency: 1})
				b.StartTimer()
				for _, obj := range objs[1:] {
					if err := c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner("plain"), client.ForceOwnership); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
		b.Run(fmt.Sprintf("objects=%d/first-apply", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ns, objs := benchObjects(b, n)
				m, opts := newManager(b, ns)
				mustApply(b, m, objs[:1], opts)
				b.StartTimer()
				mustApply(b, m, objs[1:], opts)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
		b.Run(fmt.Sprintf("objects=%d/no-change-apply", n), func(b *testing.B) {
			ns, objs := benchObjects(b, n)
			m, opts := newManager(b, ns)
			mustApply(b, m, objs, opts)
			for b.Loop() {
				if cs := mustApply(b, m, objs, opts); cs.Changed() {
					b.Fatalf("no-change apply wrote: %s", cs.Summary())
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

func mustManager(b *testing.B, ns string) *apply.Manager {
	m, _ := newManager(b, ns)
	return m
}

// benchObjects is a fresh namespace and n ConfigMaps in it, the namespace first.
func benchObjects(b *testing.B, n int) (string, []*unstructured.Unstructured) {
	ns := testNamespace()
	docs := []string{namespace(ns)}
	for i := range n {
		docs = append(docs, configMap(ns, fmt.Sprintf("cm-%05d", i), "value"))
	}
	return ns, objects(b, docs...)
}
