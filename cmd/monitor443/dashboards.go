package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/monitor443/monitor443/dashboards"
)

const dashboardsUsage = `monitor443 dashboards: the Grafana dashboards (Overview, TLS, Detection,
Sensor health) for a Prometheus datasource.

Usage:
  monitor443 dashboards export DIR
      write monitor443-*.json into DIR (for Grafana file provisioning)
  monitor443 dashboards push -grafana.url URL -grafana.token-file FILE [-grafana.folder NAME]
      create or overwrite the dashboards through Grafana's HTTP API
`

func runDashboards(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, dashboardsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "export":
		if len(args) != 2 {
			fmt.Fprint(stderr, "monitor443 dashboards export: want exactly one DIR\n\n"+dashboardsUsage)
			return 2
		}
		if err := os.MkdirAll(args[1], 0o755); err != nil {
			fmt.Fprintf(stderr, "monitor443 dashboards export: %v\n", err)
			return 1
		}
		if err := dashboards.WriteJSON(args[1]); err != nil {
			fmt.Fprintf(stderr, "monitor443 dashboards export: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %d dashboards to %s\n", len(dashboards.All()), args[1])
		return 0
	case "push":
		fs := flag.NewFlagSet("monitor443 dashboards push", flag.ContinueOnError)
		fs.SetOutput(stderr)
		gurl := fs.String("grafana.url", "", "Grafana base `URL`, e.g. https://grafana.example.com")
		tokenFile := fs.String("grafana.token-file", "", "`FILE` holding a Grafana service-account token (Editor role)")
		folder := fs.String("grafana.folder", "monitor443", "Grafana folder `NAME` (created if missing; empty = General)")
		timeout := fs.Duration("grafana.timeout", 30*time.Second, "HTTP timeout")
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		var errs []string
		if *gurl == "" {
			errs = append(errs, "-grafana.url is required")
		}
		if *tokenFile == "" {
			errs = append(errs, "-grafana.token-file is required (tokens are never passed as flags)")
		}
		if len(errs) > 0 {
			fmt.Fprintf(stderr, "monitor443 dashboards push: %s\n", strings.Join(errs, "; "))
			return 2
		}
		tok, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "monitor443 dashboards push: %v\n", err)
			return 2
		}
		client := &http.Client{Timeout: *timeout}
		if err := dashboards.Push(ctx, client, *gurl, strings.TrimSpace(string(tok)), *folder, dashboards.All()); err != nil {
			fmt.Fprintf(stderr, "monitor443 dashboards push: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "pushed %d dashboards to folder %q\n", len(dashboards.All()), *folder)
		return 0
	}
	fmt.Fprintf(stderr, "monitor443 dashboards: unknown command %q\n\n%s", args[0], dashboardsUsage)
	return 2
}
