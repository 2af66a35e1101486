package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1alpha1 "github.com/driftless-dev/driftless/api/v1alpha1"
)

func newHistory(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history [appsource] NAME",
		Short: "Show an AppSource's recent reconciles that changed or failed, newest first",
		Example: `  # What web ran lately, and how it went
  driftless history web -n team-a

  # The same with full revisions, for a script
  driftless history web -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "table", "yaml", "json"); err != nil {
				return err
			}
			_, key, obj, err := g.appSource(cmd.Context(), args)
			if err != nil {
				return err
			}
			history := obj.Status.History
			if output != "table" {
				if history == nil {
					history = []v1alpha1.HistoryEntry{}
				}
				return printData(g.stdout, output, history)
			}
			if len(history) == 0 {
				fmt.Fprintf(g.stderr, "No history yet for %s.\n", display(key))
				return nil
			}
			return printTable(g.stdout, []string{"STARTED", "DURATION", "REVISION", "RESULT", "TRIGGERED BY", "MESSAGE"}, historyRows(history))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, yaml or json")
	return cmd
}

func historyRows(history []v1alpha1.HistoryEntry) [][]string {
	rows := make([][]string, 0, len(history))
	for _, h := range history {
		rows = append(rows, []string{
			h.StartedAt.Local().Format("2006-01-02 15:04:05"),
			took(h.FinishedAt.Sub(h.StartedAt.Time)),
			shortRevision(h.Revision), cell(h.Result), cell(h.TriggeredBy), cell(h.Message),
		})
	}
	return rows
}

// took is a duration as short as is still useful.
func took(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
