package gittest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
)

// Generate creates the bare repository root/name with branch main holding
// files files (spread over directories of 100) and commits commits: the
// first adds every file, each later one changes one file. It uses
// `git fast-import`, so ten thousand files take about a second.
func Generate(t testing.TB, root, name string, files, commits int) string {
	t.Helper()
	dir := filepath.Join(root, name)
	Git(t, root, "init", "--quiet", "--bare", "-b", "main", dir)
	fastImport(t, dir, func(w io.Writer) {
		fmt.Fprintf(w, "commit refs/heads/main\nmark :1\n")
		writeCommitHeader(w, 0, "add files")
		for i := 0; i < files; i++ {
			writeInline(w, filePath(i), fileContent(i, 0))
		}
		for c := 1; c < commits; c++ {
			fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\n", c+1)
			writeCommitHeader(w, c, fmt.Sprintf("change %d", c))
			fmt.Fprintf(w, "from :%d\n", c)
			i := (c * 7919) % files
			writeInline(w, filePath(i), fileContent(i, c))
		}
	})
	return dir
}

// AppendCommit adds one commit on branch of the bare repository dir that
// rewrites path with content, and returns its hash.
func AppendCommit(t testing.TB, dir, branch, path, content string) string {
	t.Helper()
	fastImport(t, dir, func(w io.Writer) {
		fmt.Fprintf(w, "commit refs/heads/%s\n", branch)
		writeCommitHeader(w, 0, "append "+path)
		fmt.Fprintf(w, "from refs/heads/%s^0\n", branch)
		writeInline(w, path, content)
	})
	return Git(t, dir, "rev-parse", "refs/heads/"+branch)
}

// AppendBlob adds one commit on branch of the bare repository dir that
// writes path with size bytes read from r, streamed (a blob of a gigabyte
// never sits in memory), and returns its hash.
func AppendBlob(t testing.TB, dir, branch, path string, size int64, r io.Reader) string {
	t.Helper()
	fastImport(t, dir, func(w io.Writer) {
		fmt.Fprintf(w, "commit refs/heads/%s\n", branch)
		writeCommitHeader(w, 0, "append "+path)
		fmt.Fprintf(w, "from refs/heads/%s^0\n", branch)
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path, size)
		if _, err := io.CopyN(w, r, size); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(w)
	})
	return Git(t, dir, "rev-parse", "refs/heads/"+branch)
}

func fastImport(t testing.TB, dir string, write func(io.Writer)) {
	t.Helper()
	cmd := exec.Command("git", "fast-import", "--quiet", "--force")
	cmd.Dir = dir
	cmd.Env = Env()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(in, 1<<20)
	write(bw)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("git fast-import: %v: %s", err, out.String())
	}
}

func writeCommitHeader(w io.Writer, n int, msg string) {
	fmt.Fprintf(w, "committer gittest <gittest@example.com> %d +0000\n", 1700000000+n)
	fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
}

func writeInline(w io.Writer, path, content string) {
	fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
}

func filePath(i int) string { return fmt.Sprintf("dir%03d/file%05d.yaml", i/100, i) }

func fileContent(i, rev int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%05d\n"+
		"  namespace: bench\ndata:\n  index: \"%d\"\n  revision: \"%d\"\n"+
		"  payload: %032x%032x\n", i, i, rev, i*2654435761, rev*40503+i)
}
