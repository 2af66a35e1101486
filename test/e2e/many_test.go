package e2e

import "testing"

// Many AppSources on few repositories, run by the manager binary: every one
// becomes Ready at each revision, and each repository is fetched once per
// revision. Half of them once waited until their deadline for a ConfigMap
// the informer cache had not seen yet.
func TestManyAppSourcesOnFewRepositories(t *testing.T) {
	apps := startManyApps(t, 5, 10)
	apps.waitAllReady(t, 0)
	fetches := apps.server.UploadPacks()
	apps.commit(1)
	apps.push(t)
	apps.waitAllReady(t, 1)
	if n := apps.server.UploadPacks() - fetches; n != int64(len(apps.repos)) {
		t.Errorf("%d fetches for one revision of %d repositories, want one each", n, len(apps.repos))
	}
}
