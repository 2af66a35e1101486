package source

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestResolveSinceSharesOneListing: callers of one repository with the same
// credentials share a listing started at or after the time they give; a
// later time, or other credentials, ask the server.
func TestResolveSinceSharesOneListing(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	ctx := context.Background()
	main := f.req(Ref{Branch: "main"})
	start := time.Now()
	if res, err := c.ResolveSince(ctx, main, start); err != nil || res.Commit != f.first {
		t.Fatalf("first: %+v, %v", res, err)
	}
	requests := f.srv.Requests()

	next := f.repo.Commit("next")
	if res, err := c.ResolveSince(ctx, main, start.Add(-time.Second)); err != nil || res.Commit != f.first || f.srv.Requests() != requests {
		t.Errorf("shared: %+v, %v, %d requests (want the first listing: %d)", res, err, f.srv.Requests(), requests)
	}
	if res, err := c.ResolveSince(ctx, main, time.Now()); err != nil || res.Commit != next || f.srv.Requests() == requests {
		t.Errorf("since now: %+v, %v, %d requests (want a new listing)", res, err, f.srv.Requests())
	}

	other := main
	other.Credentials.Password = []byte("not-the-password")
	requests = f.srv.Requests()
	if _, err := c.ResolveSince(ctx, other, start); !errors.Is(err, ErrSourceUnavailable) || f.srv.Requests() == requests {
		t.Errorf("other credentials: %v after %d requests; want %v from the server", err, f.srv.Requests()-requests, ErrSourceUnavailable)
	}
}
