//go:build soak

// The soak (L5, L6) runs with `make soak`, never in `make test`: it takes
// $SOAK_DURATION (10 minutes by default; the nightly hour is
// SOAK_DURATION=1h).

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/source/gittest"
)

const (
	soakRepos       = 20
	soakCommitEvery = 5 * time.Second
	soakKillEvery   = time.Minute
	soakHooksPerSec = 1000
	soakCanary      = "canary-soak-git-password-5e1b"
)

// TestSoak commits to 20 repositories every 5 s, sends 1,000 signed push
// webhooks a second, and SIGKILLs the manager every 60 s, for
// $SOAK_DURATION. Each commit changes a ConfigMap and adds or removes a
// second one, so prune runs under the kills. At the end, with the load
// stopped, the cluster equals Git (every ConfigMap at the last revision,
// the second one there exactly when Git has it, nothing else), no Git
// password shows in any manager's log, status or event, and the manager's
// goroutines, open files, checkouts left, heap and RSS, taken under load
// in the first manager and in the last, did not grow.
func TestSoak(t *testing.T) {
	duration := 10 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil {
		duration = d
	}
	s := newSoak(t)
	s.commit(t, 0)
	s.start(t)
	s.createAppSources(t)
	s.waitConverged(t, 0, 5*time.Minute)

	ctx, stop := context.WithCancel(t.Context())
	var load sync.WaitGroup
	load.Go(func() { s.flood(ctx) })
	var sent atomic.Int64
	load.Go(func() {
		for rev := 1; ; rev++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(soakCommitEvery):
			}
			s.commit(t, rev)
			s.rev.Store(int64(rev))
			for _, repo := range s.repos {
				s.push(s.server.RepoURL(repo.Name))
				sent.Add(1)
			}
		}
	})

	begin := time.Now()
	first := s.snapshotUnderLoad(t)
	kills := 0
	var last snapshot
	for time.Since(begin) < duration {
		time.Sleep(min(soakKillEvery, duration-time.Since(begin)))
		if time.Since(begin) >= duration {
			break
		}
		s.mgr().proc.kill(t)
		kills++
		s.start(t)
		if duration-time.Since(begin) < soakKillEvery {
			// The last manager lives to the end: its snapshot is
			// taken under load, as the first one's was.
			last = s.snapshotUnderLoad(t)
		}
	}
	if last.goroutines == 0 {
		last = s.snapshotUnderLoad(t)
	}
	stop()
	load.Wait()
	rev := int(s.rev.Load())
	t.Logf("%s: %d revisions committed to each of %d repositories, %d pushes announced, %d webhook requests flooded, %d manager kills",
		duration, rev, soakRepos, sent.Load(), s.flooded.Load(), kills)
	s.waitConverged(t, rev, 5*time.Minute)
	s.checkNoCanary(t)
	s.deleteAppSources(t) // while the last manager runs, to let them go

	t.Logf("\n%-28s %14s %14s\n%s", "under load", "first manager", "last manager", first.sideBySide(last))
	for _, c := range first.compare(last) {
		t.Error(c)
	}
}

// soak is the running soak: one Git server, 20 repositories, one
// AppSource each, and the manager binary, replaced at each kill.
type soak struct {
	ns      string
	server  *gittest.HTTPSServer
	repos   []*gittest.Repo
	mu      sync.Mutex
	current *webhookManager
	managed []*managerProcess // every manager started, for their logs
	rev     atomic.Int64      // the last revision committed
	flooded atomic.Int64
}

func newSoak(t *testing.T) *soak {
	s := &soak{ns: newNamespace(t), server: gittest.NewHTTPS(t, gittest.HTTPSOptions{Username: "u", Password: soakCanary})}
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: s.ns}, Data: map[string][]byte{
		"username": []byte("u"), "password": []byte(soakCanary), "caFile": s.server.CAPEM,
	}}
	if err := k8s.Create(t.Context(), auth); err != nil {
		t.Fatal(err)
	}
	for r := range soakRepos {
		s.repos = append(s.repos, s.server.NewRepo(t, fmt.Sprintf("soak-%d.git", r)))
	}
	return s
}

// commit commits revision rev to every repository: the ConfigMap soak-R at
// rev, and soak-R-even only at even revisions.
func (s *soak) commit(t *testing.T, rev int) {
	for r, repo := range s.repos {
		repo.WriteFile("deploy/config.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: soak-%d}\ndata: {revision: \"%d\"}\n", r, rev))
		if rev%2 == 0 {
			repo.WriteFile("deploy/even.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: soak-%d-even}\ndata: {revision: \"%d\"}\n", r, rev))
		} else {
			repo.Remove("deploy/even.yaml")
		}
		repo.Commit(fmt.Sprintf("revision %d", rev))
	}
}

// start starts a manager with its webhook receiver and profiler.
func (s *soak) start(t *testing.T) {
	m := startWebhookManager(t, s.ns, "--pprof-bind-address="+freeAddr(t))
	s.mu.Lock()
	s.current = m
	s.managed = append(s.managed, m.proc)
	s.mu.Unlock()
}

func (s *soak) mgr() *webhookManager {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *soak) createAppSources(t *testing.T) {
	for r, repo := range s.repos {
		createAppSource(t, appSource(fmt.Sprintf("soak-%d", r), s.ns, withURL(s.server.RepoURL(repo.Name)), withPath("deploy"), withInterval(time.Hour),
			func(a *v1alpha1.AppSource) {
				a.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: "git-auth"}
				a.Spec.TargetNamespace = s.ns
			}))
	}
}

// push announces a push to the current manager; a manager being replaced
// misses it, as a real receiver behind a Service would, and the next push
// or the restart's own reconcile covers it.
func (s *soak) push(url string) {
	m := s.mgr()
	if resp, err := http.DefaultClient.Do(signedPush(m.url, m.secret, url)); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// flood sends soakHooksPerSec signed pushes a second, round the
// repositories, until ctx ends: nearly all announce a commit already
// handled, so they must coalesce into nothing.
func (s *soak) flood(ctx context.Context) {
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tick := time.NewTicker(time.Second * workers / soakHooksPerSec)
			defer tick.Stop()
			for i := w; ctx.Err() == nil; i += workers {
				<-tick.C
				s.push(s.server.RepoURL(s.repos[i%len(s.repos)].Name))
				s.flooded.Add(1)
			}
		})
	}
	wg.Wait()
}

// waitConverged waits until every AppSource is Ready at its repository's
// head and the ConfigMaps applied are exactly those of revision rev.
func (s *soak) waitConverged(t *testing.T, rev int, timeout time.Duration) {
	var seen string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var list v1alpha1.AppSourceList
		if err := k8s.List(ctx, &list, client.InNamespace(s.ns)); err != nil {
			return false, err
		}
		heads := map[string]string{}
		for r, repo := range s.repos {
			heads[fmt.Sprintf("soak-%d", r)] = "main@sha1:" + repo.Bare("rev-parse", "main")
		}
		atHead, behind := 0, ""
		for i := range list.Items {
			a := &list.Items[i]
			if c := condition(a, v1alpha1.ReadyCondition); c != nil && c.Status == metav1.ConditionTrue && a.Status.LastAppliedRevision == heads[a.Name] {
				atHead++
			} else {
				behind = fmt.Sprintf("%s at %s: %+v", a.Name, a.Status.LastAppliedRevision, a.Status.Conditions)
			}
		}
		var cms corev1.ConfigMapList
		if err := k8s.List(ctx, &cms, client.InNamespace(s.ns), client.HasLabels{v1alpha1.NameLabel}); err != nil {
			return false, err
		}
		want := map[string]bool{}
		for r := range s.repos {
			want[fmt.Sprintf("soak-%d", r)] = true
			if rev%2 == 0 {
				want[fmt.Sprintf("soak-%d-even", r)] = true
			}
		}
		right, extra := 0, []string{}
		for _, cm := range cms.Items {
			switch {
			case !want[cm.Name]:
				extra = append(extra, cm.Name)
			case cm.Data["revision"] == strconv.Itoa(rev):
				right++
			}
		}
		seen = fmt.Sprintf("%d of %d AppSources Ready at their head; %d of %d ConfigMaps at revision %d; not in Git: %v; behind: %s",
			atHead, len(s.repos), right, len(want), rev, extra, behind)
		return atHead == len(s.repos) && right == len(want) && len(extra) == 0, nil
	})
	if err != nil {
		t.Fatalf("the cluster does not equal Git at revision %d: %v; %s", rev, err, seen)
	}
	t.Logf("converged at revision %d: %s", rev, seen)
}

// deleteAppSources deletes the AppSources and waits until they are gone.
func (s *soak) deleteAppSources(t *testing.T) {
	if err := k8s.DeleteAllOf(t.Context(), &v1alpha1.AppSource{}, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the AppSources deleted", func(ctx context.Context) (bool, error) {
		var list v1alpha1.AppSourceList
		err := k8s.List(ctx, &list, client.InNamespace(s.ns))
		return err == nil && len(list.Items) == 0, err
	})
}

// checkNoCanary looks for the Git password in every manager's log and in
// the AppSources' status and events.
func (s *soak) checkNoCanary(t *testing.T) {
	for _, p := range s.managed {
		if data, err := os.ReadFile(p.log); err != nil || bytes.Contains(data, []byte(soakCanary)) {
			t.Errorf("manager log %s: %v, or it holds the Git password", p.log, err)
		}
	}
	var list v1alpha1.AppSourceList
	if err := k8s.List(t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		assertNoCanary(t, &list.Items[i], soakCanary)
	}
}

// snapshot is what the soak watches for growth in one manager.
type snapshot struct {
	goroutines, openFiles, checkouts int
	heapInuse, rss                   int64
}

// snapshotUnderLoad waits 40 s into the current manager's life, so that it
// runs under the load, and takes its snapshot.
func (s *soak) snapshotUnderLoad(t *testing.T) snapshot {
	time.Sleep(40 * time.Second)
	m := s.mgr()
	var snap snapshot
	addr := "" // the profiler's, from the flags
	for _, a := range m.proc.cmd.Args {
		if v, ok := strings.CutPrefix(a, "--pprof-bind-address="); ok {
			addr = v
		}
	}
	text := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("profile %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	goroutines, _, _ := strings.Cut(strings.TrimPrefix(text("/debug/pprof/goroutine?debug=1"), "goroutine profile: total "), "\n")
	snap.goroutines, _ = strconv.Atoi(goroutines)
	for line := range strings.SplitSeq(text("/debug/pprof/heap?debug=1"), "\n") {
		if v, ok := strings.CutPrefix(line, "# HeapInuse = "); ok {
			snap.heapInuse, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", m.proc.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	snap.openFiles = len(fds)
	checkouts, err := os.ReadDir(filepath.Join(m.proc.workDir, "driftless-checkouts"))
	if err != nil {
		t.Fatal(err)
	}
	snap.checkouts = len(checkouts)
	if snap.rss, err = m.proc.status("VmRSS"); err != nil {
		t.Fatal(err)
	}
	return snap
}

func (a snapshot) sideBySide(b snapshot) string {
	rows := []struct {
		name string
		a, b string
	}{
		{"goroutines", fmt.Sprint(a.goroutines), fmt.Sprint(b.goroutines)},
		{"open files", fmt.Sprint(a.openFiles), fmt.Sprint(b.openFiles)},
		{"checkouts in the work dir", fmt.Sprint(a.checkouts), fmt.Sprint(b.checkouts)},
		{"heap in use (MiB)", fmt.Sprint(a.heapInuse >> 20), fmt.Sprint(b.heapInuse >> 20)},
		{"RSS (MiB)", fmt.Sprint(a.rss >> 20), fmt.Sprint(b.rss >> 20)},
	}
	var out strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&out, "%-28s %14s %14s\n", r.name, r.a, r.b)
	}
	return out.String()
}

// compare says what grew from a to b beyond the noise of one manager's
// life under a load that comes in bursts: goroutines and open files by
// more than a fifth (and 20), checkouts by more than the 20 AppSources
// could hold at once, heap and RSS by more than half.
func (a snapshot) compare(b snapshot) []string {
	var grew []string
	if b.goroutines > a.goroutines*6/5+20 {
		grew = append(grew, fmt.Sprintf("goroutines grew from %d to %d", a.goroutines, b.goroutines))
	}
	if b.openFiles > a.openFiles*6/5+20 {
		grew = append(grew, fmt.Sprintf("open files grew from %d to %d", a.openFiles, b.openFiles))
	}
	if b.checkouts > soakRepos {
		grew = append(grew, fmt.Sprintf("%d checkouts left in the work dir, more than the %d AppSources hold at once", b.checkouts, soakRepos))
	}
	if b.heapInuse > a.heapInuse*3/2 {
		grew = append(grew, fmt.Sprintf("heap in use grew from %d to %d MiB", a.heapInuse>>20, b.heapInuse>>20))
	}
	if b.rss > a.rss*3/2 {
		grew = append(grew, fmt.Sprintf("RSS grew from %d to %d MiB", a.rss>>20, b.rss>>20))
	}
	return grew
}
