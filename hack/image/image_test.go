package main

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImage builds the manager for amd64 and arm64, stamped with a test
// version, builds the image index from them, and reads it back as a
// runtime would: both platforms, user 65532, the manager as entrypoint, no
// shell, a static binary, and the binary taken out of its layer prints its
// version.
func TestImage(t *testing.T) {
	const version = "v9.9.9-imagetest"
	dir := t.TempDir()
	var bins []Binary
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(dir, arch, "manager")
		build := exec.Command("go", "build", "-trimpath", "-o", out,
			"-ldflags", "-s -w -X github.com/driftless-dev/driftless/internal/version.Version="+version, "./cmd/manager")
		build.Dir = filepath.Join("..", "..")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build for %s: %v\n%s", arch, err, out)
		}
		bins = append(bins, Binary{Platform: "linux/" + arch, Path: out})
	}
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "layout")
	if err := Build(out, Options{Binaries: bins, CACerts: ca, Version: version}); err != nil {
		t.Fatal(err)
	}

	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", manifest.MediaType, types.OCIImageIndex)
	}
	inner := idx
	var platforms []string
	for _, m := range manifest.Manifests {
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		img, err := inner.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/manager"}) || cfg.Architecture != m.Platform.Architecture {
			t.Errorf("%s: user %q, entrypoint %v, architecture %s", m.Platform.Architecture, cfg.Config.User, cfg.Config.Entrypoint, cfg.Architecture)
		}
		files := extract(t, img, filepath.Join(dir, "rootfs-"+m.Platform.Architecture))
		for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
			if slices.Contains(files, shell) {
				t.Errorf("%s: the image has a shell, %s", m.Platform.Architecture, shell)
			}
		}
		manager := filepath.Join(dir, "rootfs-"+m.Platform.Architecture, "manager")
		if f, err := elf.Open(manager); err != nil {
			t.Errorf("%s: manager: %v", m.Platform.Architecture, err)
		} else {
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s: the manager is dynamically linked", m.Platform.Architecture)
				}
			}
			f.Close()
		}
		if m.Platform.Architecture == runtime.GOARCH {
			v, err := exec.Command(manager, "--version").CombinedOutput()
			if err != nil || !strings.Contains(string(v), version) {
				t.Errorf("manager --version from the image: %v: %s", err, v)
			}
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", platforms)
	}
}

// extract writes the regular files of img's layers under dir and returns
// every entry's name.
func extract(t *testing.T, img v1.Image, dir string) []string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, strings.TrimSuffix(hdr.Name, "/"))
			if hdr.Typeflag != tar.TypeReg {
				continue
			}
			p := filepath.Join(dir, hdr.Name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, os.FileMode(hdr.Mode)); err != nil {
				t.Fatal(err)
			}
		}
		rc.Close()
	}
	return names
}
