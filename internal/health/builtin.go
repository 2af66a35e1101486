package health

import (
	"fmt"
	"sync"
)

// Condition tests shared by the built-in rules. Each expression guards the
// fields it reads, so a resource without a status is InProgress, not an
// evaluation error.
const (
	conditions = "has(status.conditions) && status.conditions.exists(c, %s)"
	observed   = "has(status.observedGeneration) && status.observedGeneration == metadata.generation"
)

func cond(test string) string { return fmt.Sprintf(conditions, test) }

// readyStyle reads the convention of Flux's and Driftless's own kinds:
// Reconciling while at work, Stalled or Ready=False when it failed, Ready
// for the generation observed.
var readyStyle = Rule{
	InProgress: "!(" + observed + ") || " + cond("c.type == 'Reconciling' && c.status == 'True'"),
	Failed:     cond("(c.type == 'Stalled' && c.status == 'True') || (c.type == 'Ready' && c.status == 'False')"),
	Current:    cond("c.type == 'Ready' && c.status == 'True'"),
}

// builtinRules are the health rules of common kinds whose readiness
// kstatus does not read: their Ready condition. A rule in the AppSource
// for the same kind replaces the built-in one.
var builtinRules = func() []Rule {
	var rules []Rule
	readyStyleKinds := map[string][]string{
		"kustomize.toolkit.fluxcd.io/v1":    {"Kustomization"},
		"helm.toolkit.fluxcd.io/v2":         {"HelmRelease"},
		"source.toolkit.fluxcd.io/v1":       {"GitRepository", "HelmRepository", "HelmChart", "Bucket", "OCIRepository"},
		"source.toolkit.fluxcd.io/v1beta2":  {"OCIRepository"},
		"notification.toolkit.fluxcd.io/v1": {"Receiver"},
		"deploy.driftless.dev/v1alpha1":     {"AppSource"},
	}
	for apiVersion, kinds := range readyStyleKinds {
		for _, kind := range kinds {
			r := readyStyle
			r.APIVersion, r.Kind = apiVersion, kind
			rules = append(rules, r)
		}
	}
	ready := cond("c.type == 'Ready' && c.status == 'True'")
	return append(rules,
		// cert-manager: a Certificate is issuing until Ready; a failed
		// issuance sets Issuing=False with reason Failed.
		Rule{APIVersion: "cert-manager.io/v1", Kind: "Certificate",
			InProgress: "!has(status.conditions) || " + cond("c.type == 'Issuing' && c.status == 'True'") +
				" || " + cond("c.type == 'Ready' && has(c.observedGeneration) && c.observedGeneration != metadata.generation"),
			Failed:  cond("c.type == 'Issuing' && c.status == 'False' && c.reason == 'Failed'"),
			Current: ready},
		Rule{APIVersion: "cert-manager.io/v1", Kind: "CertificateRequest",
			Failed:  cond("c.type == 'Ready' && c.status == 'False' && (c.reason == 'Failed' || c.reason == 'Denied')"),
			Current: ready},
		// An issuer that cannot register yet may register at the next
		// try: not ready is in progress, and the health timeout decides.
		Rule{APIVersion: "cert-manager.io/v1", Kind: "Issuer", Current: ready},
		Rule{APIVersion: "cert-manager.io/v1", Kind: "ClusterIssuer", Current: ready},
	)
}()

// builtin compiles the built-in rules once.
var builtin = sync.OnceValue(func() *Rules {
	rs, err := CompileRules(builtinRules)
	if err != nil {
		panic("health: a built-in rule does not compile: " + err.Error())
	}
	return rs
})
