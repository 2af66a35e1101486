package source

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestChangesAndTreeHash(t *testing.T) {
	f := newFixture(t)
	f.repo.WriteFile("apps/web/deploy.yaml", "web: 1\n")
	f.repo.WriteFile("apps/api/deploy.yaml", "api: 1\n")
	c := newClient(t)
	ctx := context.Background()
	before, _ := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	f.repo.Commit("apps")
	withApps, _ := fetchOK(t, c, f.req(Ref{Branch: "main"}))

	f.repo.WriteFile("apps/api/deploy.yaml", "api: 2\n")
	f.repo.Remove("README.md")
	f.repo.Commit("api")
	req := f.req(Ref{Branch: "main"})
	req.Path = "apps/web"
	after, _ := fetchOK(t, c, req)

	changed, err := c.Changes(ctx, f.req(Ref{}), withApps.Revision, after.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "apps/api/deploy.yaml"}; !reflect.DeepEqual(changed, want) {
		t.Errorf("changes = %v, want %v", changed, want)
	}
	if Touches(changed, "apps/web") || !Touches(changed, "apps/api") || !Touches(changed, ".") {
		t.Errorf("Touches is wrong for %v", changed)
	}

	webBefore, err := c.TreeHash(ctx, f.req(Ref{}), withApps.Revision, "apps/web")
	if err != nil || webBefore != after.PathHash {
		t.Errorf("apps/web hash changed across a commit to apps/api: %s vs %s (%v)", webBefore, after.PathHash, err)
	}
	apiBefore, _ := c.TreeHash(ctx, f.req(Ref{}), withApps.Revision, "apps/api")
	apiAfter, _ := c.TreeHash(ctx, f.req(Ref{}), after.Revision, "apps/api/")
	if apiBefore == apiAfter || apiBefore == "" {
		t.Errorf("apps/api hash unchanged: %s", apiAfter)
	}
	if _, err := c.TreeHash(ctx, f.req(Ref{}), before.Revision, "apps/web"); !errors.Is(err, ErrPathNotFound) {
		t.Errorf("missing path: %v", err)
	}
	for _, bad := range []string{"../x", "/etc", "apps/../../x", ".git/config"} {
		if _, err := c.TreeHash(ctx, f.req(Ref{}), after.Revision, bad); !errors.Is(err, ErrPathOutOfBounds) {
			t.Errorf("path %q: %v, want ErrPathOutOfBounds", bad, err)
		}
	}
}

func TestChangesWithoutHistory(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	ctx := context.Background()
	unknown := "main@sha1:0123456789abcdef0123456789abcdef01234567"
	if _, err := c.Changes(ctx, f.req(Ref{}), unknown, unknown); !errors.Is(err, ErrHistoryUnavailable) {
		t.Errorf("empty cache: %v", err)
	}
	res, _ := fetchOK(t, c, f.req(Ref{Branch: "main"}))
	_, err := c.Changes(ctx, f.req(Ref{}), unknown, res.Revision)
	if !errors.Is(err, ErrHistoryUnavailable) {
		t.Errorf("unknown revision: %v", err)
	}
	noCanary(t, err)
	if _, err := c.TreeHash(ctx, f.req(Ref{}), "main@sha1:zz", ""); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("malformed revision: %v", err)
	}
}
