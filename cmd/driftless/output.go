package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"
)

// checkOutput refuses a -o value the command does not print.
func checkOutput(output string, allowed ...string) error {
	if !slices.Contains(allowed, output) {
		return usagef("--output %q: want one of %s", output, strings.Join(allowed, ", "))
	}
	return nil
}

// printTable aligns rows under header as kubectl does.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// printData prints v as YAML or indented JSON.
func printData(w io.Writer, output string, v any) error {
	var out []byte
	var err error
	if output == "json" {
		out, err = json.MarshalIndent(v, "", "  ")
		out = append(out, '\n')
	} else {
		out, err = yaml.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// cell makes s fit one table cell: one line, never empty.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}

// shortRevision shortens "main@sha1:4f2c9ab0…" to its first 7 hex digits.
func shortRevision(rev string) string {
	prefix, hash, found := strings.Cut(rev, "sha1:")
	if !found || len(hash) <= 7 {
		return cell(rev)
	}
	return prefix + "sha1:" + hash[:7] + "…"
}

// since is how long ago t was, as kubectl shows it.
func since(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}
