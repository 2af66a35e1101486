package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

// TestInstallLeastPrivilege installs the bundle with `driftless install`,
// then runs the manager binary with the Deployment's own flags and the
// bundle's ServiceAccount token (not an admin kubeconfig): a tenant gets
// exactly what its namespace grants its deployer account, a tenant
// AppSource reaching for cluster-admin is AccessDenied with nothing written,
// the platform's AppSource in driftless-system applies the same objects, an
// AppSource without an account writes nothing, deleting a tenant namespace
// completes, and `driftless uninstall` leaves every workload running.
func TestInstallLeastPrivilege(t *testing.T) {
	cli := buildBinary(t, "./cmd/driftless")
	manager := buildManager(t)
	driftless := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append(args, "--kubeconfig="+cluster.Kubeconfig)...).CombinedOutput()
		if err != nil {
			t.Fatalf("driftless %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { // later tests need the CRD that uninstall deletes
		if err := cluster.InstallCRDs(context.Background(), filepath.Join(moduleRoot(t), "config", "crd")); err != nil {
			t.Errorf("reinstall the CRD: %v", err)
		}
		// The test's context is gone by now.
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			_, err := clientset.Discovery().ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
			return err == nil, nil
		})
		if err != nil {
			t.Errorf("AppSources not served again after reinstalling the CRD: %v", err)
		}
	})

	if out := driftless("install", "--export", "--image=example.com/driftless:test"); !strings.Contains(out, "image: example.com/driftless:test") ||
		strings.Count(out, "\nkind: ") != 14 {
		t.Errorf("install --export printed:\n%.2000s", out)
	}
	if out := driftless("install", "--dry-run"); !strings.Contains(out, "ClusterRole/driftless-manager accepted (dry run)") ||
		!strings.Contains(out, "Deployment/driftless-system/driftless-manager ") {
		t.Errorf("install --dry-run printed:\n%s", out)
	}
	out := driftless("install", "--image=example.com/driftless:test", "--timeout=2m")
	if !strings.Contains(out, "Driftless is installed") {
		t.Errorf("install printed:\n%s", out)
	}
	if out := driftless("check"); !strings.Contains(out, "RBAC: the manager has the") || !strings.Contains(out, "1 of 1 replicas ready") {
		t.Errorf("check printed:\n%s", out)
	}
	if out := driftless("version"); !strings.Contains(out, "client: ") || !strings.Contains(out, "(image example.com/driftless:test)") {
		t.Errorf("version printed:\n%s", out)
	}
	for key, obj := range map[string]client.Object{
		"driftless-manager": &networkingv1.NetworkPolicy{}, "driftless-metrics": &corev1.Service{}, "driftless-webhook": &corev1.Service{},
	} {
		if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: "driftless-system", Name: key}, obj); err != nil {
			t.Errorf("%T %s: %v", obj, key, err)
		}
	}
	deploy := &appsv1.Deployment{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: "driftless-system", Name: "driftless-manager"}, deploy); err != nil {
		t.Fatal(err)
	}

	// The manager as the Deployment runs it, with the account's own token.
	kubeconfig := tokenKubeconfig(t, "driftless-system", "driftless-manager")
	args := []string{"--kubeconfig=" + kubeconfig}
	for _, a := range deploy.Spec.Template.Spec.Containers[0].Args {
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--metrics-bind-address", "--health-probe-bind-address", "--webhook-bind-address", "--work-dir":
			continue // ports and the pod's volume: this process's own below
		}
		args = append(args, a)
	}
	// Out of a pod, the Lease's namespace is not found from the pod's.
	metrics := freeAddr(t)
	args = append(args, "--leader-election-namespace=driftless-system", "--metrics-bind-address="+metrics)
	startManagerProcess(t, manager, "installed", args...)

	// A tenant: its deployer account may change its own namespace only.
	app := newGitApp(t)
	app.repo.WriteFile("deploy/config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n")
	app.repo.Commit("tenant app")
	grantDeployer(t, app.ns)
	tenant := app.appSource(t, "web")
	waitReady(t, tenant, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)

	// Reaching for cluster-admin, or another namespace: refused, nothing written.
	binding := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: grab-" + app.ns + "}\n" +
		"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n" +
		"subjects: [{kind: ServiceAccount, name: default, namespace: " + app.ns + "}]\n"
	app.repo.WriteFile("escalate/binding.yaml", binding)
	app.repo.WriteFile("elsewhere/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: planted, namespace: driftless-system}\ndata: {a: b}\n")
	app.repo.Commit("escalation attempts")
	for _, path := range []string{"escalate", "elsewhere"} {
		obj := app.appSource(t, path, withPath(path))
		waitReady(t, obj, metav1.ConditionFalse, v1alpha1.AccessDeniedReason)
		if msg := readyMessage(obj); !strings.Contains(msg, "system:serviceaccount:"+app.ns+":driftless-deployer") {
			t.Errorf("%s: message %q does not name the account", path, msg)
		}
	}
	if err := k8s.Get(t.Context(), client.ObjectKey{Name: "grab-" + app.ns}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRoleBinding written for a tenant: %v", err)
	}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: "driftless-system", Name: "planted"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap written into driftless-system for a tenant: %v", err)
	}

	// The platform team's AppSource, in driftless-system, may.
	auth := &corev1.Secret{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "git-auth"}, auth); err != nil {
		t.Fatal(err)
	}
	platformAuth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "driftless-system", Name: "git-auth-" + app.ns}, Data: auth.Data}
	if err := k8s.Create(t.Context(), platformAuth); err != nil {
		t.Fatal(err)
	}
	platform := appSource("platform-"+app.ns, "driftless-system", withURL(app.server.RepoURL("app.git")), withPath("escalate"),
		func(s *v1alpha1.AppSource) {
			s.Spec.Source.Git.SecretRef = &v1alpha1.LocalObjectReference{Name: platformAuth.Name}
		})
	createAppSource(t, platform)
	waitReady(t, platform, metav1.ConditionTrue, v1alpha1.ReconciliationSucceededReason)
	if err := k8s.Delete(t.Context(), platform); err != nil {
		t.Fatal(err)
	}

	// No account: nothing is written as the manager instead.
	lone := newGitApp(t)
	orphan := lone.appSource(t, "web")
	waitReady(t, orphan, metav1.ConditionFalse, v1alpha1.AccessDeniedReason)
	if msg := readyMessage(orphan); !strings.Contains(msg, "ServiceAccount/"+lone.ns+"/driftless-deployer does not exist") {
		t.Errorf("message %q", msg)
	}

	// Metrics: HTTPS, only for who may get /metrics.
	checkMetrics(t, "https://"+metrics+"/metrics")

	// The audit log: the manager's own user wrote only AppSources, their
	// status and finalizers, events and its Lease; everything else it wrote
	// was as an impersonated account; it read no Secret outside the
	// namespaces of the AppSources naming them.
	checkAudit(t, "system:serviceaccount:driftless-system:driftless-manager", map[string]bool{app.ns: true, lone.ns: true, "driftless-system": true})

	// Deleting a namespace with its AppSource and account completes.
	if err := k8s.Delete(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lone.ns}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "namespace "+lone.ns+" gone", func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKey{Name: lone.ns}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})

	out = driftless("uninstall", "--yes", "--timeout=2m")
	if !strings.Contains(out, "keep running") {
		t.Errorf("uninstall printed:\n%s", out)
	}
	d := &appsv1.Deployment{}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "web"}, d); err != nil || d.DeletionTimestamp != nil {
		t.Errorf("the tenant's Deployment after uninstall: %v", err)
	}
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: app.ns, Name: "settings"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the tenant's ConfigMap after uninstall: %v", err)
	}
}

func readyMessage(obj *v1alpha1.AppSource) string {
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ReadyCondition); c != nil {
		return c.Message
	}
	return ""
}

// checkMetrics scrapes url without a token (refused) and as an account
// bound to driftless-metrics-reader (served).
func checkMetrics(t *testing.T, url string) {
	t.Helper()
	ns := newNamespace(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "scrape-" + ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "driftless-metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}}}
	for _, o := range []client.Object{sa, crb} {
		if err := k8s.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), crb) })
	tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The manager's certificate is self-signed: the check is of who may read.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test of authorization, not of the certificate
	scrape := func(token string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var code int
	var body string
	eventually(t, time.Minute, "metrics served", func(context.Context) (bool, error) {
		code, body = scrape(tr.Status.Token)
		return code == http.StatusOK, nil
	})
	if !strings.Contains(body, "driftless_reconciles_total") {
		t.Errorf("metrics without driftless_reconciles_total:\n%.500s", body)
	}
	if code, _ := scrape(""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("metrics without a token: %d, want 401 or 403", code)
	}
}

// auditEvent is the part of an audit.k8s.io/v1 Event the checks read.
type auditEvent struct {
	Verb             string                     `json:"verb"`
	User             struct{ Username string }  `json:"user"`
	ImpersonatedUser *struct{ Username string } `json:"impersonatedUser"`
	UserAgent        string                     `json:"userAgent"`
	Received         metav1.Time                `json:"requestReceivedTimestamp"`
	ObjectRef        *struct {
		Resource, Namespace, Name, Subresource, APIGroup string
	} `json:"objectRef"`
}

// auditEvents reads the API server's audit log: the requests on objects.
func auditEvents(t *testing.T) []auditEvent {
	t.Helper()
	data, err := os.ReadFile(cluster.AuditLog())
	if err != nil {
		t.Fatal(err)
	}
	var events []auditEvent
	for line := range strings.SplitSeq(string(data), "\n") {
		var e auditEvent
		if json.Unmarshal([]byte(line), &e) == nil && e.ObjectRef != nil {
			events = append(events, e)
		}
	}
	return events
}

// isWrite reports whether e changed an object.
func (e auditEvent) isWrite() bool {
	return slices.Contains([]string{"create", "update", "patch", "delete", "deletecollection"}, e.Verb)
}

// checkAudit reads the API server's audit log for the requests of user.
func checkAudit(t *testing.T, user string, secretNamespaces map[string]bool) {
	t.Helper()
	// Its own objects, and the reviews that authorize metrics scrapers.
	own := map[string]bool{"appsources": true, "events": true, "leases": true, "tokenreviews": true, "subjectaccessreviews": true}
	writes, impersonated := 0, 0
	for _, e := range auditEvents(t) {
		if e.User.Username != user {
			continue
		}
		ref := e.ObjectRef
		switch {
		case e.isWrite():
			writes++
			if e.ImpersonatedUser != nil {
				impersonated++
			} else if !own[ref.Resource] {
				t.Errorf("the manager wrote %s %s/%s/%s as itself", e.Verb, ref.Resource, ref.Namespace, ref.Name)
			}
		case e.Verb == "get":
			if ref.Resource == "secrets" && e.ImpersonatedUser == nil && !secretNamespaces[ref.Namespace] {
				t.Errorf("the manager read Secret %s/%s", ref.Namespace, ref.Name)
			}
		}
	}
	if writes == 0 || impersonated == 0 {
		t.Errorf("audit log: %d writes by %s, %d impersonated: want both", writes, user, impersonated)
	}
}

// grantDeployer creates ns's driftless-deployer account, allowed what the
// built-in admin role allows in ns only.
func grantDeployer(t *testing.T, ns string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "driftless-deployer"}}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "driftless-deployer"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}}}
	for _, o := range []client.Object{sa, rb} {
		if err := k8s.Create(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
}

// tokenKubeconfig writes a kubeconfig that authenticates as the service
// account ns/name with a token from the TokenRequest API.
func tokenKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// buildBinary builds the module's package pkg into a temporary folder.
func buildBinary(t testing.TB, pkg string) string {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if bin, ok := built.bins[pkg]; ok {
		return bin
	}
	bin := filepath.Join(built.dir, filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built.bins[pkg] = bin
	return bin
}

// built are the binaries buildBinary built, by package, in dir: each is
// built once per test process, from the sources as they were then.
var built struct {
	sync.Mutex
	dir  string
	bins map[string]string
}

// moduleRoot is the folder of the module's go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" {
		t.Fatalf("find the module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod)))
}
