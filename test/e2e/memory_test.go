package e2e

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// BenchmarkMemoryWithUnrelatedObjects is the manager binary's peak RSS
// while it reconciles one AppSource, first in the cluster as it is, then
// after 10,000 ConfigMaps and 2,000 Secrets of 10 KiB that no AppSource
// reads or applies were created: the manager caches only what is ours, and
// watches only the Secrets and ConfigMaps labelled for it (as metadata), so
// the two should be within 10%. Each iteration is a new process. Run it alone:
//
//	go test ./test/e2e -run '^$' -bench MemoryWithUnrelatedObjects -benchtime 3x
func BenchmarkMemoryWithUnrelatedObjects(b *testing.B) {
	app := newGitApp(b)
	obj := app.appSource(b, "web")
	bin := buildManager(b)
	run := func(name string) int64 {
		p := startManagerProcess(b, bin, name, "--metrics-bind-address=0")
		reconciledBy(b, obj)
		rss := p.peakRSS(b)
		p.kill(b)
		return rss
	}
	baseline := run("baseline")
	createUnrelated(b, 10000, 2000, 10<<10)
	var with []int64
	for i := 0; b.Loop(); i++ {
		with = append(with, run(fmt.Sprintf("with-%d", i)))
	}
	slices.Sort(with)
	median := with[len(with)/2]
	b.ReportMetric(float64(baseline)/(1<<20), "baseline-peak-RSS-MiB")
	b.ReportMetric(float64(median)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(median)/float64(baseline), "ratio")
}

// reconciledBy asks for a reconcile of obj and waits until it is Ready at
// that request: the manager started has listed, fetched, rendered, applied.
func reconciledBy(b testing.TB, obj *v1alpha1.AppSource) {
	b.Helper()
	requestReconcile(b, obj)
	token := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]
	eventually(b, 2*time.Minute, "reconciled at "+token, func(ctx context.Context) (bool, error) {
		err := get(ctx, obj)
		return err == nil && obj.Status.LastHandledReconcileAt == token && readyMessage(obj) != "" &&
			obj.Status.ObservedGeneration == obj.Generation, err
	})
}

// createUnrelated fills a new namespace with ConfigMaps and Secrets of size
// bytes each, eight at a time.
func createUnrelated(b testing.TB, configMaps, secrets, size int) {
	b.Helper()
	ns := newNamespace(b)
	data := bytes.Repeat([]byte("x"), size)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				var o client.Object = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("secret-%05d", i)},
					Data: map[string][]byte{"data": data}}
				if i < configMaps {
					o = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cm-%05d", i)},
						Data: map[string]string{"data": string(data)}}
				}
				if err := k8s.Create(context.Background(), o); err != nil {
					b.Errorf("create %s: %v", o.GetName(), err)
				}
			}
		})
	}
	start := time.Now()
	for i := range configMaps + secrets {
		work <- i
	}
	close(work)
	wg.Wait()
	b.Logf("%d ConfigMaps and %d Secrets of %d KiB created in %s", configMaps, secrets, size>>10, time.Since(start).Round(time.Second))
}
