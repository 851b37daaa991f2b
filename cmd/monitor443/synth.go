package main

import (
	"context"
	"fmt"
	"io"
)

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "monitor443 synth: not built yet")
	return 2
}
