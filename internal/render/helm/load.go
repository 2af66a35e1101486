package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	chartarchive "helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
)

// ErrChartTooLarge is a chart whose files, archives decompressed, exceed
// Options.MaxChartBytes.
var ErrChartTooLarge = errors.New("chart is larger than its size limit")

// utf8BOM is stripped from the start of every chart file, as helm does.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// loadChart loads the chart in dir as helm's loader.LoadDir does, through
// fsys: .helmignore honoured, symbolic links followed (inside the checkout),
// files in lexical order, and deps as archives in its charts/. Chart archives
// in charts/ are checked before helm opens them: no links, no paths outside
// the archive, and their decompressed size counts against maxBytes.
func loadChart(fsys FS, dir string, maxBytes int64, deps []Archive) (*chart.Chart, error) {
	rules := ignore.Empty()
	data, err := fsys.ReadFile(path.Join(dir, ignore.HelmIgnore))
	switch {
	case err == nil:
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	rules.AddDefaults()
	w := &chartWalker{fsys: fsys, rules: rules, top: dir, budget: maxBytes, limit: maxBytes, bounded: maxBytes > 0, walking: map[string]bool{}}
	if err := w.walk(dir, ""); err != nil {
		return nil, err
	}
	for _, d := range deps {
		w.files = append(w.files, &chartarchive.BufferedFile{Name: path.Join("charts", d.Name+"-"+d.Version+".tgz"), Data: d.Data})
	}
	for _, f := range w.files {
		if path.Ext(f.Name) == ".tgz" {
			if err := checkArchiveWithin(f.Name, f.Data, &w.budget, maxBytes); err != nil {
				return nil, err
			}
		}
	}
	return loader.LoadFiles(w.files)
}

// loadArchive loads a chart archive as helm's loader.LoadArchive does, once
// checked as the archives in charts/ are: no links, no paths outside it, and
// at most maxBytes decompressed.
func loadArchive(data []byte, maxBytes int64) (*chart.Chart, error) {
	budget := maxBytes
	if err := checkArchiveWithin("chart archive", data, &budget, maxBytes); err != nil {
		return nil, err
	}
	return loader.LoadArchive(bytes.NewReader(data))
}

// checkArchiveWithin is checkArchive against the budget of a maxBytes
// bound (0: none), the bound named when it is exceeded.
func checkArchiveWithin(name string, data []byte, budget *int64, maxBytes int64) error {
	err := checkArchive(name, data, budget, maxBytes > 0)
	if errors.Is(err, ErrChartTooLarge) {
		return fmt.Errorf("%w (%d bytes)", err, maxBytes)
	}
	return err
}

// chartWalker collects a chart's files.
type chartWalker struct {
	fsys    FS
	rules   *ignore.Rules
	top     string
	budget  int64
	limit   int64
	bounded bool
	files   []*chartarchive.BufferedFile
	walking map[string]bool
}

// walk adds the files under name (rel is its path in the chart), skipping
// what .helmignore ignores, as helm's loader does.
func (w *chartWalker) walk(name, rel string) error {
	real, err := w.fsys.Resolve(name)
	if err != nil {
		return err
	}
	if w.walking[real] {
		return fmt.Errorf("%s: symbolic link cycle: directory is inside itself", name)
	}
	w.walking[real] = true
	defer delete(w.walking, real)
	entries, err := w.fsys.ReadDir(name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child, childRel := path.Join(name, e.Name()), path.Join(rel, e.Name())
		fi, err := w.fsys.Stat(child)
		if err != nil {
			return err
		}
		if w.rules.Ignore(childRel, fi) {
			continue
		}
		if fi.IsDir() {
			if err := w.walk(child, childRel); err != nil {
				return err
			}
			continue
		}
		if err := w.add(child, childRel, fi); err != nil {
			return err
		}
	}
	return nil
}

// add reads one chart file.
func (w *chartWalker) add(name, rel string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("cannot load irregular file %s as it has file mode type bits set", name)
	}
	if err := w.spend(name, fi.Size()); err != nil {
		return err
	}
	data, err := w.fsys.ReadFile(name)
	if err != nil {
		return err
	}
	w.files = append(w.files, &chartarchive.BufferedFile{Name: rel, ModTime: fi.ModTime(), Data: bytes.TrimPrefix(data, utf8BOM)})
	return nil
}

func (w *chartWalker) spend(name string, n int64) error {
	if !w.bounded {
		return nil
	}
	w.budget -= n
	if w.budget < 0 {
		return fmt.Errorf("%s: %w (%d bytes)", name, ErrChartTooLarge, w.limit)
	}
	return nil
}

// checkArchive checks a chart archive, and the archives inside it, before
// helm loads it: regular files and directories only, every name inside the
// archive, and at most *budget bytes decompressed, counted as read so a
// compression bomb stops at the limit.
func checkArchive(name string, data []byte, budget *int64, bounded bool) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		switch hd.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("%s: entry %q is not a regular file or directory", name, hd.Name)
		}
		clean := path.Clean(strings.ReplaceAll(hd.Name, `\`, "/"))
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("%s: entry %q is outside the archive", name, hd.Name)
		}
		content, err := readBounded(tr, budget, bounded)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if path.Ext(clean) == ".tgz" {
			if err := checkArchive(name+"/"+clean, content, budget, bounded); err != nil {
				return err
			}
		}
	}
}

// readBounded reads r, spending what it reads from budget.
func readBounded(r io.Reader, budget *int64, bounded bool) ([]byte, error) {
	if !bounded {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, *budget+1))
	if err != nil {
		return nil, err
	}
	*budget -= int64(len(data))
	if *budget < 0 {
		return nil, ErrChartTooLarge
	}
	return data, nil
}
