package main

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configProblem is one problem with the configuration file, at a YAML path
// and, when known, a line.
type configProblem struct {
	path, msg string
	line      int
}

func (p configProblem) Error() string {
	if p.line > 0 {
		return fmt.Sprintf("%s (line %d): %s", p.path, p.line, p.msg)
	}
	return p.path + ": " + p.msg
}

// configChecker walks the YAML document against the raw configuration's
// types, by their yaml tags, before anything is decoded: it notes the line
// of every path, reports unknown keys (with the closest valid one) and
// values of the wrong kind in the file's own words, and removes them, so
// that decoding what is left cannot fail and the value checks still run.
type configChecker struct {
	lines    map[string]int
	problems []configProblem
}

func (c *configChecker) add(path string, line int, format string, args ...any) {
	if path == "" {
		path = "config"
	}
	c.problems = append(c.problems, configProblem{path: path, line: line, msg: fmt.Sprintf(format, args...)})
}

// check walks n as a value of type t at path. It returns false when n is
// not such a value, for the caller to remove it.
func (c *configChecker) check(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind == yaml.DocumentNode {
		return len(n.Content) == 0 || c.check(n.Content[0], t, path)
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return c.check(n.Alias, t, path)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true // unset
	}
	if path != "" {
		c.lines[path] = n.Line
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(path, n.Line, "want keys and values, got %s", describe(n))
			return false
		}
		keys := yamlKeys(t)
		c.mapping(n, path, func(key string) (reflect.Type, bool) {
			f, ok := keys[key]
			return f, ok
		}, slices.Sorted(mapKeys(keys)))
		return true
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(path, n.Line, "want keys and values, got %s", describe(n))
			return false
		}
		elem := t.Elem()
		c.mapping(n, path, func(string) (reflect.Type, bool) { return elem, true }, nil)
		return true
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(path, n.Line, "want a list, got %s", describe(n))
			return false
		}
		ok := true
		for i, e := range n.Content {
			if !c.check(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)) {
				ok = false
			}
		}
		return ok
	}
	if n.Kind != yaml.ScalarNode {
		c.add(path, n.Line, "want a single value, got %s", describe(n))
		return false
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		want := map[reflect.Kind]string{reflect.Bool: "true or false", reflect.Float32: "a number", reflect.Float64: "a number"}[t.Kind()]
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			want = "a whole number"
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			want = "a whole number >= 0"
		case reflect.String:
			want = "text"
		}
		c.add(path, n.Line, "want %s, got %s", want, describe(n))
		return false
	}
	return true
}

// mapping checks the keys and values of a mapping node, removing unknown
// keys and bad values. field returns the type of a key's value; valid
// lists the keys to suggest from (nil: any key is valid).
func (c *configChecker) mapping(n *yaml.Node, path string, field func(string) (reflect.Type, bool), valid []string) {
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		t, ok := field(k.Value)
		if !ok {
			msg := "unknown key"
			if s := closest(k.Value, valid); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			c.add(p, k.Line, "%s", msg)
			continue
		}
		c.lines[p] = k.Line
		if !c.check(v, t, p) {
			continue
		}
		c.lines[p] = k.Line
		kept = append(kept, k, v)
	}
	n.Content = kept
}

// yamlKeys maps a struct's YAML keys to their types.
func yamlKeys(t reflect.Type) map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f.Type
	}
	return keys
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// describe quotes a value as the file has it, or names its kind.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys and values"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// closest returns the candidate nearest to s in edit distance, when it is
// near enough to be a misspelling, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", max(2, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// located adds the line of its path to each "path: message" error, and
// returns every problem sorted by line.
func (c *configChecker) located(errs []error) error {
	all := slices.Clone(c.problems)
	for _, err := range errs {
		for _, e := range unjoinAll(err) {
			path, msg, ok := strings.Cut(e.Error(), ": ")
			if !ok || strings.ContainsAny(path, " \"") {
				all = append(all, configProblem{path: "config", msg: e.Error()})
				continue
			}
			p := configProblem{path: path, msg: msg}
			for q := path; q != ""; {
				if l, ok := c.lines[q]; ok {
					p.line = l
					break
				}
				i := strings.LastIndexAny(q, ".[")
				if i < 0 {
					break
				}
				q = q[:i]
			}
			all = append(all, p)
		}
	}
	slices.SortStableFunc(all, func(a, b configProblem) int { return a.line - b.line })
	out := make([]error, len(all))
	for i := range all {
		out[i] = all[i]
	}
	return errors.Join(out...)
}

// unjoinAll flattens errors.Join trees.
func unjoinAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoinAll(e)...)
		}
		return out
	}
	return []error{err}
}
