// Command gen writes monitor443's Grafana dashboards as JSON files; `go
// generate ./dashboards` runs it to refresh deploy/grafana.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/monitor443/monitor443/dashboards"
)

func main() {
	out := flag.String("out", "../deploy/grafana", "directory to write monitor443-<name>.json files to")
	flag.Parse()
	if err := dashboards.WriteJSON(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
