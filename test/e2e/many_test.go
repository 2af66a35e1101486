package e2e

import "testing"

// Many AppSources on few repositories, split across two shards and run by
// the manager binary: every one becomes Ready at each revision, pushes sent
// to one shard reach the other, and each shard fetches each repository once
// per revision. Half of them once waited until their deadline for a
// ConfigMap the informer cache had not seen yet.
func TestManyAppSourcesOnFewRepositories(t *testing.T) {
	const shards = 2
	apps := startManyApps(t, 5, 10, shards)
	apps.waitAllReady(t, 0)
	fetches := apps.server.UploadPacks()
	apps.commit(1)
	apps.push(t)
	apps.waitAllReady(t, 1)
	if n := apps.server.UploadPacks() - fetches; n != int64(shards*len(apps.repos)) {
		t.Errorf("%d fetches for one revision of %d repositories in %d shards, want one each per shard", n, len(apps.repos), shards)
	}
}
