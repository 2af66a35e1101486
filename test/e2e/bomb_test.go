package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
	"github.com/driftless-dev/driftless/controllers"
)

// TestChartBombsAreBoundedWhileOthersApply commits two chart bombs (one
// that never ends, one that allocates 2 GB) beside a good app, with the
// manager's render bounds lowered: each bomb is LimitExceeded naming its
// bound, and the good AppSource applies a new commit meanwhile. The time
// bound leaves the memory bomb's child room to start on a busy machine (CI
// runs other packages' tests beside this one): at 5 s it was once stopped
// by time before it could allocate.
func TestChartBombsAreBoundedWhileOthersApply(t *testing.T) {
	startManager(t, func(c *controllers.Config) {
		c.RenderTimeout, c.RenderMemoryBytes = 20*time.Second, 512<<20
	})
	app := newGitApp(t)
	chart := "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata: {a: b}\n"
	app.repo.WriteFile("loop/Chart.yaml", chart)
	app.repo.WriteFile("loop/templates/cm.yaml", "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n"+cm)
	app.repo.WriteFile("alloc/Chart.yaml", chart)
	app.repo.WriteFile("alloc/templates/cm.yaml", `{{ repeat 2000000000 "x" }}`+"\n"+cm)
	app.repo.Commit("two chart bombs")
	loop := app.appSource(t, "loop", withPath("loop"))
	alloc := app.appSource(t, "alloc", withPath("alloc"))
	good := app.appSource(t, "web")
	waitReady(t, good, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	app.repo.WriteFile("deploy/deployment.yaml", deploymentYAML("example.com/web:2"))
	app.repo.Commit("web 2")
	requestReconcile(t, good)
	for obj, bound := range map[*v1alpha1.AppSource]string{loop: "time bound of 20s", alloc: "memory bound of 512 MiB"} {
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.LimitExceededReason)
		if msg := readyMessage(obj); !strings.Contains(msg, bound) {
			t.Errorf("%s: %q does not name the %s", obj.Name, msg, bound)
		}
	}
	eventually(t, time.Minute, "web 2 applied beside the bombs", func(ctx context.Context) (bool, error) {
		return app.deployment(t).Spec.Template.Spec.Containers[0].Image == "example.com/web:2", nil
	})
}
