package main

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
)

// permission is one thing the manager's account must be allowed.
type permission struct {
	verb, group, resource, namespace string
}

func (p permission) String() string {
	s := p.verb + " " + p.resource
	if p.group != "" {
		s += "." + p.group
	}
	if p.namespace != "" {
		s += " in " + p.namespace
	}
	return s
}

// managerPermissions are what the manager cannot work without.
var managerPermissions = []permission{
	{"watch", "deploy.driftless.dev", "appsources", ""},
	{"patch", "deploy.driftless.dev", "appsources/status", ""},
	{"update", "deploy.driftless.dev", "appsources/finalizers", ""},
	{"list", "", "serviceaccounts", ""},
	{"impersonate", "", "serviceaccounts", ""},
	{"create", "events.k8s.io", "events", ""},
	{"update", "coordination.k8s.io", "leases", systemNamespace},
	{"create", "authentication.k8s.io", "tokenreviews", ""},
}

// managerMay asks the API server whether the manager's account may do p.
func (k *kube) managerMay(ctx context.Context, p permission) (bool, error) {
	resource, subresource, _ := strings.Cut(p.resource, "/")
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + systemNamespace + ":" + managerName,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNamespace},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: p.verb, Group: p.group, Resource: resource, Subresource: subresource, Namespace: p.namespace,
		},
	}}
	if err := k.client.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("ask the API server: %w", err)
	}
	return sar.Status.Allowed, nil
}
