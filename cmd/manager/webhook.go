package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/driftless-dev/driftless/internal/webhook"
)

// receivers reads the webhook receivers from a Secret named "namespace/name":
// each key "<name>.<provider>" (provider github, gitlab, gitea or generic)
// holds the shared token of the endpoint /hook/<name>.
func receivers(ctx context.Context, cfg *rest.Config, ref string) ([]webhook.Receiver, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		return nil, fmt.Errorf("--webhook-secret %q: want namespace/name", ref)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, secret); err != nil {
		return nil, fmt.Errorf("read webhook Secret %s: %w", ref, err)
	}
	var out []webhook.Receiver
	for key, token := range secret.Data {
		receiver, provider, ok := strings.Cut(key, ".")
		if !ok {
			return nil, fmt.Errorf("webhook Secret %s: key %q: want <name>.<provider>", ref, key)
		}
		out = append(out, webhook.Receiver{Name: receiver, Provider: webhook.Provider(provider), Secret: token})
	}
	return out, nil
}

// addWebhook serves the receivers of secretRef on addr while mgr runs.
func addWebhook(mgr manager.Manager, cfg *rest.Config, addr, secretRef string, notify func(webhook.Push)) error {
	list, err := receivers(context.Background(), cfg, secretRef)
	if err != nil {
		return err
	}
	h, err := webhook.NewHandler(webhook.DefaultOptions(), list, notify)
	if err != nil {
		return err
	}
	srv := webhook.NewServer(addr, h)
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Shutdown(context.Background())
		}()
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("webhook receiver: %w", err)
		}
		return nil
	}))
}
