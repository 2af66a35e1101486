// Command image builds the manager's OCI image without a Docker daemon: one
// image per platform, each a single layer holding the static manager binary,
// the CA certificates, /etc/passwd naming the non-root user 65532 and empty
// writable folders, with no shell; the images go into one index, written as
// an OCI layout folder. `make image` runs it.
//
// Usage: image -out bin/image -version v0.3.0 -created 2026-12-03T09:00:00Z \
//
//	-ca /etc/ssl/certs/ca-certificates.crt linux/amd64=bin/linux-amd64/manager linux/arm64=…
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	var o Options
	out := flag.String("out", "bin/image", "OCI layout folder to write; replaced")
	created := flag.String("created", "", "creation time (RFC 3339), for a reproducible image; empty is the epoch")
	flag.StringVar(&o.Version, "version", "devel", "the version the image's labels name")
	flag.StringVar(&o.CACerts, "ca", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to include (Debian's ca-certificates)")
	flag.Parse()
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			return fmt.Errorf("-created: %w", err)
		}
		o.Created = t
	}
	for _, arg := range flag.Args() {
		platform, bin, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("%q: want os/arch=path-of-the-manager-binary", arg)
		}
		o.Binaries = append(o.Binaries, Binary{Platform: platform, Path: bin})
	}
	if len(o.Binaries) == 0 {
		return fmt.Errorf("no binary: name at least one os/arch=path")
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	if err := Build(*out, o); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d platforms, version %s\n", *out, len(o.Binaries), o.Version)
	return nil
}
