package detect

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Blocklist maps JA3 hashes and JA4 fingerprints to labels. It is built
// once at start and read-only afterwards, so workers share it.
type Blocklist struct {
	m map[string][]string
}

var (
	ja3Re = regexp.MustCompile(`^[0-9a-f]{32}$`)
	ja4Re = regexp.MustCompile(`^[tqd][0-9a-z]{2}[di][0-9]{2}[0-9]{2}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
)

// ParseBlocklist reads a fingerprint list. Each non-comment line holds a
// JA3 MD5 or a JA4 fingerprint, optionally followed by a comma and a label.
// abuse.ch SSLBL's JA3 CSV ("ja3_md5,Firstseen,Lastseen,Listingreason")
// is accepted as is: the listing reason becomes the label. Every bad line
// is reported, with its line number.
func ParseBlocklist(r io.Reader, name string) (Blocklist, error) {
	b := Blocklist{m: map[string][]string{}}
	sc := bufio.NewScanner(r)
	var errs []string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		fp := strings.ToLower(strings.TrimSpace(f[0]))
		if fp == "ja3_md5" { // CSV header
			continue
		}
		label := "blocklisted"
		switch {
		case len(f) >= 4: // abuse.ch: ja3_md5,Firstseen,Lastseen,Listingreason
			label = strings.TrimSpace(f[3])
		case len(f) >= 2:
			label = strings.TrimSpace(f[1])
		}
		if !ja3Re.MatchString(fp) && !ja4Re.MatchString(fp) {
			errs = append(errs, fmt.Sprintf("%s:%d: %q is neither a JA3 MD5 nor a JA4 fingerprint", name, n, f[0]))
			continue
		}
		b.m[fp] = append(b.m[fp], label)
	}
	if err := sc.Err(); err != nil {
		return Blocklist{}, fmt.Errorf("read %s: %w", name, err)
	}
	if len(errs) > 0 {
		return Blocklist{}, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return b, nil
}

// Len returns the number of fingerprints.
func (b Blocklist) Len() int { return len(b.m) }

// Match returns the labels of ja3 and ja4, if listed.
func (b Blocklist) Match(ja3, ja4 string) []string {
	if len(b.m) == 0 {
		return nil
	}
	out := append([]string(nil), b.m[ja3]...)
	return append(out, b.m[ja4]...)
}
