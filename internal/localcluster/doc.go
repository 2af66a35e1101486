// Package localcluster runs a real Kubernetes control plane on loopback:
// etcd, kube-apiserver, and optionally kube-controller-manager,
// kube-scheduler and kwok with fake nodes, so Deployments really roll and
// Services' EndpointSlices really change, with no container ever running.
//
// Tests and `make run` share it. Binaries come from hack/build-k8s.sh, which
// builds them from the Go module proxy once per version into bin/k8s/.
// Every process runs in a fresh temporary directory on free ports and dies
// with the process that started it, so parallel runs never collide and a
// crashed test leaves no control plane behind.
package localcluster
