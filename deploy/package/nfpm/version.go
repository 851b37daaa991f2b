package main

import (
	"regexp"
	"strings"
	"time"
)

var (
	releaseRE  = regexp.MustCompile(`^v?[0-9]+\.[0-9]+`)
	describeRE = regexp.MustCompile(`-([0-9]+)-g([0-9a-f]+)$`)
)

// debVersion turns monitor443's version, as git describe --tags --always
// --dirty prints it, into a Debian version that sorts the same way:
//
//	v1.2.0                 1.2.0
//	v1.2.0-rc1             1.2.0~rc1                        (before 1.2.0)
//	v1.2.0-3-gabc1234      1.2.0+3.gabc1234                 (after 1.2.0)
//	abc1234 (no tag yet)   0.0~git20260101123456.abc1234    (dated by t)
//	...-dirty              ...+dirty, or ....dirty after a "+"
func debVersion(v string, t time.Time) string {
	v, dirty := strings.CutSuffix(v, "-dirty")
	var meta []string // after the "+"
	if m := describeRE.FindStringSubmatch(v); m != nil {
		v = strings.TrimSuffix(v, m[0])
		meta = append(meta, m[1], "g"+m[2])
	}
	if releaseRE.MatchString(v) {
		v = strings.ReplaceAll(strings.TrimPrefix(v, "v"), "-", "~")
	} else {
		v = "0.0~git" + t.UTC().Format("20060102150405") + "." + v
	}
	if dirty {
		meta = append(meta, "dirty")
	}
	if len(meta) > 0 {
		v += "+" + strings.Join(meta, ".")
	}
	return v
}
