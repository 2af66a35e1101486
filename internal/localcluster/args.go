package localcluster

import "path/filepath"

func etcdArgs(dir, clientURL string, peerPort int) []string {
	peerURL := "http://127.0.0.1:" + itoa(peerPort)
	return []string{
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		// The data dies with the cluster: durability buys nothing here.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

func apiserverArgs(dir string, p *pki, etcdURL string, port int) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The kubernetes Service cannot point at a loopback address; nothing
		// in this cluster runs a pod that would call it.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + itoa(port),
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caFile,
		"--service-account-key-file=" + p.saPub,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		"--profiling=false",
		// Tests read who wrote what: see Cluster.AuditLog.
		"--audit-policy-file=" + filepath.Join(dir, "audit-policy.yaml"),
		"--audit-log-path=" + filepath.Join(dir, "logs", "audit.log"),
		"--audit-log-maxsize=500",
		"--audit-log-maxbackup=1",
	}
}

// auditPolicy logs every request's metadata once, when it completes.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
`

// componentArgs are the flags kube-controller-manager and kube-scheduler share.
func componentArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
	}
}

func controllerManagerArgs(kubeconfig string, p *pki) []string {
	return append(componentArgs(kubeconfig),
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caFile,
		// No pod network to allocate: kwok assigns pod IPs itself.
		"--controllers=*,-nodeipam",
		// At the default 20 requests a second the Deployment and ReplicaSet
		// controllers, not the controller under test, set the pace of a
		// rollout of a few dozen pods (about 11 s for 10 Deployments of 3).
		"--kube-api-qps=200", "--kube-api-burst=400",
	)
}

func kwokArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--manage-all-nodes=true",
		"--cidr=10.0.0.1/16",
		// Without a node lease kwok renews node status too rarely and the
		// node lifecycle controller marks every pod NotReady after ~50s.
		"--node-lease-duration-seconds=40",
	}
}
