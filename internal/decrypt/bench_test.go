package decrypt

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// benchFiles is the number of files the benchmark decrypts.
const benchFiles = 200

// libraryNsPerFile carries the library's time per file to the CLI sub-benchmark of the same
// run, which reports the ratio.
var libraryNsPerFile float64

// benchFixtures makes 200 encrypted files as a real overlay would hold them: Kubernetes
// Secrets (160), Helm values files (20) and dotenv files for a secretGenerator (20).
func benchFixtures(b *testing.B) (map[string][]byte, *age.X25519Identity) {
	s := newSecrets()
	id := s.ageKey(b)
	k8s := sealSpec{groups: forAge(b, id).groups, encryptedRegex: "^(data|stringData)$"}
	files := map[string][]byte{}
	for i := range benchFiles {
		switch i % 10 {
		case 8:
			files[fmt.Sprintf("app/values-%03d.yaml", i)] = seal(b, FormatYAML, helmValues(s.canary("v"), s.canary("a")), forAge(b, id))
		case 9:
			files[fmt.Sprintf("app/gen/secret-%03d.env", i)] = seal(b, FormatDotenv, dotenvFile(s.canary("e"), s.canary("e")), forAge(b, id))
		default:
			files[fmt.Sprintf("app/secrets/secret-%03d.yaml", i)] = seal(b, FormatYAML, secretYAML(s.canary("u"), s.canary("t")), k8s)
		}
	}
	return files, id
}

// BenchmarkFile decrypts 200 encrypted files with Decrypter.File ("library") and, in the same
// run, each of the same files with `sops decrypt` ("sops-cli"). Both report ns/file; the CLI
// sub-benchmark also reports its ratio to the library. Run with
//
//	go test ./internal/decrypt/ -run '^$' -bench BenchmarkFile -benchtime 5x
func BenchmarkFile(b *testing.B) {
	files, id := benchFixtures(b)
	b.Run("library", func(b *testing.B) {
		opts := withKeys(ageKeys(id))
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			// One Decrypter for all the files, as a reconcile makes one for its render.
			d, err := NewDecrypter(opts)
			if err != nil {
				b.Fatal(err)
			}
			for name, data := range files {
				if _, format, err := d.File(ctx, name, data); err != nil || format == "" {
					b.Fatalf("decrypt %s: format %q, %v", name, format, err)
				}
			}
		}
		libraryNsPerFile = float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchFiles)
		b.ReportMetric(libraryNsPerFile, "ns/file")
	})
	b.Run("sops-cli", func(b *testing.B) {
		bin := sopsCLI(b)
		dir := newDir(b, files)
		env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "SOPS_AGE_KEY=" + id.String()}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for name := range files {
				cmd := exec.Command(bin, "decrypt", filepath.FromSlash(name))
				cmd.Dir, cmd.Env = dir, env
				if out, err := cmd.Output(); err != nil || len(out) == 0 {
					b.Fatalf("sops decrypt %s: %v", name, err)
				}
			}
		}
		perFile := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchFiles)
		b.ReportMetric(perFile, "ns/file")
		if libraryNsPerFile > 0 {
			b.ReportMetric(perFile/libraryNsPerFile, "cli/library")
		}
	})
}
