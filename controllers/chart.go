package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/internal/render"
	"github.com/driftless-dev/driftless/internal/render/helm/chartrepo"
)

// A chart from a repository (spec.render.helm.chart): which version the
// AppSource's constraint selects, and its archive for the render. The
// version joins the Git revision, "web@1.4.2/main@sha1:<commit>", so that a
// rollback, a hold and a promotion pin both.

// chartPick is the chart version a reconcile renders.
type chartPick struct {
	src   chartrepo.Source
	creds chartrepo.Credentials
	res   chartrepo.Resolved
}

// revision is the chart's part of the revision: "name@version".
func (c *chartPick) revision() string { return c.src.Chart + "@" + c.res.Version }

// chartOf is the AppSource's chart of a repository, nil when it has none.
func chartOf(obj *v1alpha1.AppSource) *v1alpha1.HelmChart {
	if obj.Spec.Render == nil || obj.Spec.Render.Helm == nil {
		return nil
	}
	return obj.Spec.Render.Helm.Chart
}

// resolveChart asks the chart's repository which version the AppSource's
// constraint selects now, or takes the version a pinned revision names. As
// with Git, a reconcile that something other than the interval, a push or
// a request woke reuses an answer younger than half an interval.
func (r *AppSourceReconciler) resolveChart(ctx context.Context, st *state) error {
	h := chartOf(st.obj)
	if h == nil {
		return nil
	}
	src := chartrepo.Source{URL: h.Repository, Chart: h.Name, Version: h.Version}
	if v, ok := chartVersionOf(st.pin, h.Name); ok {
		if st.chart != nil && st.chart.res.Version == v {
			return nil
		}
		src.Version = v
	} else if st.chart != nil {
		return nil // asked already, for the head
	}
	if r.Charts == nil {
		return stalled(v1alpha1.ChartUnavailableReason, errors.New("this build has no chart repository client"))
	}
	creds, err := r.chartCredentials(ctx, st, h.SecretRef)
	if err != nil {
		return err
	}
	key := client.ObjectKeyFromObject(st.obj)
	res, ok := r.memory.recentChart(key, src, st.obj.Spec.Interval.Duration/2)
	if !ok || asksGit(st.trigger) {
		if res, err = r.Charts.Resolve(ctx, src, creds); err != nil {
			return failed(chartReason(err), err)
		}
		r.memory.putChart(key, src, res)
	}
	st.chart = &chartPick{src: src, creds: creds, res: res}
	return nil
}

// chartArchive downloads the chart version picked, or reads it from the
// manager's cache of charts: one download per version for all AppSources.
func (r *AppSourceReconciler) chartArchive(ctx context.Context, st *state) ([]byte, error) {
	start := time.Now()
	data, err := r.Charts.Fetch(ctx, st.chart.src, st.chart.res, st.chart.creds)
	chartFetchSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, failed(chartReason(err), err)
	}
	return data, nil
}

// chartDependencies downloads the dependencies that a chart's Chart.lock
// pins (see render.Options.ChartDependencies), from the repositories that
// spec.render.helm.repositories names and no other, each version once for
// all AppSources.
func (r *AppSourceReconciler) chartDependencies(st *state) func(context.Context, []render.ChartDependency) ([]render.ChartArchive, error) {
	return func(ctx context.Context, deps []render.ChartDependency) ([]render.ChartArchive, error) {
		var archives []render.ChartArchive
		for _, d := range deps {
			repo, ok := allowedRepository(st.obj, d.Repository)
			if !ok {
				return nil, failed(v1alpha1.BuildFailedReason, fmt.Errorf("chart dependency %s %s: repository %s is not named in spec.render.helm.repositories", d.Name, d.Version, d.Repository))
			}
			creds, err := r.chartCredentials(ctx, st, repo.SecretRef)
			if err != nil {
				return nil, err
			}
			src := chartrepo.Source{URL: repo.URL, Chart: d.Name, Version: d.Version}
			res, err := r.Charts.Resolve(ctx, src, creds)
			if err == nil && res.Version != d.Version {
				err = fmt.Errorf("the repository has %s, not the version Chart.lock pins", res.Version)
			}
			var data []byte
			if err == nil {
				data, err = r.Charts.Fetch(ctx, src, res, creds)
			}
			if err != nil {
				return nil, failed(chartReason(err), fmt.Errorf("chart dependency %s %s: %w", d.Name, d.Version, err))
			}
			archives = append(archives, render.ChartArchive{Name: d.Name, Version: d.Version, Data: data})
		}
		return archives, nil
	}
}

// allowedRepository is the entry of spec.render.helm.repositories for url.
func allowedRepository(obj *v1alpha1.AppSource, url string) (v1alpha1.HelmRepository, bool) {
	if obj.Spec.Render == nil || obj.Spec.Render.Helm == nil {
		return v1alpha1.HelmRepository{}, false
	}
	for _, repo := range obj.Spec.Render.Helm.Repositories {
		if strings.TrimSuffix(repo.URL, "/") == strings.TrimSuffix(url, "/") {
			return repo, true
		}
	}
	return v1alpha1.HelmRepository{}, false
}

// chartCredentials reads a chart repository's Secret: username and
// password, and ca.crt.
func (r *AppSourceReconciler) chartCredentials(ctx context.Context, st *state, ref *v1alpha1.LocalObjectReference) (chartrepo.Credentials, error) {
	if ref == nil {
		return chartrepo.Credentials{}, nil
	}
	secret, err := r.secret(ctx, st, ref.Name)
	if err != nil {
		return chartrepo.Credentials{}, err
	}
	d := secret.Data
	return chartrepo.Credentials{Username: d["username"], Password: d["password"], CA: d["ca.crt"]}, nil
}

// chartReason is the condition reason of a chart repository's error.
func chartReason(err error) string {
	switch {
	case errors.Is(err, chartrepo.ErrNoVersion):
		return v1alpha1.ChartVersionNotFoundReason
	case errors.Is(err, chartrepo.ErrTooLarge):
		return v1alpha1.LimitExceededReason
	}
	return v1alpha1.ChartUnavailableReason
}

// withChart is the revision of a Git revision rendered with the chart
// picked: "web@1.4.2/main@sha1:<commit>"; the Git revision alone without
// a chart of a repository.
func withChart(st *state, git string) string {
	if st.chart == nil {
		return git
	}
	return st.chart.revision() + "/" + git
}

// chartVersionOf is the version of chart that a revision names, if it
// names one (see withChart). A chart's name and version hold no "/".
func chartVersionOf(revision, chart string) (string, bool) {
	part, _, ok := strings.Cut(revision, "/")
	if !ok {
		return "", false
	}
	name, version, ok := strings.Cut(part, "@")
	if !ok || name != chart || version == "" || strings.Contains(version, "sha1:") {
		return "", false
	}
	return version, true
}

// gitRevisionOf is the Git part of a revision that may name a chart.
func gitRevisionOf(revision, chart string) string {
	if _, ok := chartVersionOf(revision, chart); ok {
		_, git, _ := strings.Cut(revision, "/")
		return git
	}
	return revision
}

// sameChartVersion reports whether two revisions name the same version of
// chart.
func sameChartVersion(a, b, chart string) bool {
	va, oka := chartVersionOf(a, chart)
	vb, okb := chartVersionOf(b, chart)
	return oka && okb && va == vb
}
