package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// jsonLines writes one JSON value per line. Safe for concurrent use.
type jsonLines struct {
	mu     sync.Mutex
	w      *bufio.Writer
	enc    *json.Encoder
	closer io.Closer
	path   string
	err    error
}

// openJSONLines opens path for writing ("-" is stdout). Two outputs on
// stdout share one writer, so their lines never interleave mid-line.
func openJSONLines(path string, stdout io.Writer, shared map[string]*jsonLines) (*jsonLines, error) {
	if path == "" {
		return nil, nil
	}
	if j, ok := shared[path]; ok {
		return j, nil
	}
	var (
		w      io.Writer
		closer io.Closer
	)
	if path == "-" {
		w = stdout
	} else {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open output: %w", err)
		}
		w, closer = f, f
	}
	j := &jsonLines{w: bufio.NewWriterSize(w, 64<<10), closer: closer, path: path}
	j.enc = json.NewEncoder(j.w)
	j.enc.SetEscapeHTML(false)
	shared[path] = j
	return j, nil
}

// Write encodes v as one line; the first error sticks and is returned by
// Close.
func (j *jsonLines) Write(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(v)
	}
}

// Flush writes buffered lines out.
func (j *jsonLines) Flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.w.Flush(); err != nil && j.err == nil {
		j.err = err
	}
}

// Close flushes and closes the file.
func (j *jsonLines) Close() error {
	j.Flush()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closer != nil {
		if err := j.closer.Close(); err != nil && j.err == nil {
			j.err = err
		}
		j.closer = nil
	}
	if j.err != nil {
		return fmt.Errorf("write %s: %w", j.path, j.err)
	}
	return nil
}
