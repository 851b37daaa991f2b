package main

import (
	"strings"
	"testing"
	"time"
)

func TestDebVersion(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, in, want string
	}{
		{name: "release", in: "v1.2.0", want: "1.2.0"},
		{name: "release without v", in: "1.2.0", want: "1.2.0"},
		{name: "pre-release", in: "v1.2.0-rc1", want: "1.2.0~rc1"},
		{name: "after a tag", in: "v1.2.0-3-gabc1234", want: "1.2.0+3.gabc1234"},
		{name: "after a pre-release", in: "v1.2.0-rc1-3-gabc1234", want: "1.2.0~rc1+3.gabc1234"},
		{name: "dirty release", in: "v1.2.0-dirty", want: "1.2.0+dirty"},
		{name: "dirty after a tag", in: "v1.2.0-3-gabc1234-dirty", want: "1.2.0+3.gabc1234.dirty"},
		{name: "no tag", in: "abc1234", want: "0.0~git20260102030405.abc1234"},
		{name: "no tag, digits first", in: "4399a8a", want: "0.0~git20260102030405.4399a8a"},
		{name: "no tag, dirty", in: "abc1234-dirty", want: "0.0~git20260102030405.abc1234+dirty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := debVersion(tt.in, at); got != tt.want {
				t.Errorf("debVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPackageUnit(t *testing.T) {
	t.Parallel()
	src := "# Install: by hand\n# more\n[Service]\nExecStart=/usr/local/bin/monitor443 -config.file=x\n" +
		"# A transient user\nDynamicUser=yes\nStateDirectory=monitor443\n"
	got, err := packageUnit(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"/usr/local/bin", "DynamicUser", "Install: by hand", "transient"} {
		if strings.Contains(got, bad) {
			t.Errorf("packaged unit still has %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"\nExecStart=/usr/bin/monitor443 -config.file=x\n", "\nUser=monitor443\nGroup=monitor443\nStateDirectory=monitor443\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("packaged unit lacks %q:\n%s", want, got)
		}
	}
	if _, err := packageUnit("[Service]\nExecStart=/opt/monitor443\n"); err == nil {
		t.Error("a unit without the lines to adapt: no error")
	}
}
