package e2e

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// managerMetric is a metric name of the manager's in a query: its own, and
// those of controller-runtime, client-go and the Go runtime it serves.
var managerMetric = regexp.MustCompile(`\b(?:driftless|controller_runtime|workqueue|leader_election|process|go)_[a-z0-9_]+\b`)

// TestMonitoringQueriesExist checks that every metric the shipped dashboard
// and alert rules query is served by a running manager: a leader with a
// Ready AppSource, one whose Git is unreachable, and one whose promotion
// waits for it.
func TestMonitoringQueriesExist(t *testing.T) {
	app := newGitApp(t)
	w := startWebhookManagerProcess(t, buildManager(t), app.ns, "manager", electionArgs(t, leaseFlags)...)
	good := app.appSource(t, "web")
	waitReady(t, good, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	broken := appSource("broken", app.ns, withURL("https://127.0.0.1:1/nothing.git"), withPath("deploy"))
	createAppSource(t, broken)
	waitReady(t, broken, metav1.ConditionFalse, v1alpha1.SourceUnavailableReason)
	app.appSource(t, "prod", func(o *v1alpha1.AppSource) {
		o.Spec.Promotion = &v1alpha1.Promotion{After: []v1alpha1.AppSourceReference{{Name: "broken"}}}
	})
	eventually(t, time.Minute, "a promotion waiting", func(context.Context) (bool, error) {
		n, err := scrapeSum(w.metricsURL, "driftless_promotion_waiting_since_timestamp_seconds")
		return err == nil && n > 0, nil
	})

	lines, err := scrapeLines(w.metricsURL, "")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, line := range lines {
		if i := strings.IndexAny(line, "{ "); i > 0 && !strings.HasPrefix(line, "#") {
			served[line[:i]] = true
		}
	}
	var queried []string
	for _, file := range []string{"alerts.yaml", "dashboard.json"} {
		data, err := os.ReadFile("../../charts/driftless/files/" + file)
		if err != nil {
			t.Fatal(err)
		}
		queried = append(queried, managerMetric.FindAllString(string(data), -1)...)
	}
	slices.Sort(queried)
	queried = slices.Compact(queried)
	for _, name := range queried {
		if !served[name] {
			t.Errorf("%s is queried by the dashboard or the alert rules, and the manager does not serve it", name)
		}
	}
	if len(queried) < 20 {
		t.Errorf("only %d metrics found in the dashboard and rules: %v", len(queried), queried)
	}
}
