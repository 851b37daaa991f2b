// Command nfpm builds monitor443's Debian package and release archive for one
// architecture from deploy/package/nfpm.yaml, with goreleaser's nfpm library
// (pinned in this folder's go.mod). make package runs it once per
// architecture with go run.
//
// It is a module of its own so that nfpm and its many dependencies (Git,
// OpenPGP, RPM and APK writers) stay out of monitor443's go.mod: the sensor's
// dependency graph, its vulnerability scans and `go test ./...` see none of
// them, and a new nfpm version is a change to this folder alone.
//
// Given a binary, the help2man output for the man page and a build time, it
// writes, into -out:
//
//	monitor443_<version>_<arch>.deb
//	monitor443_<version>_linux_<arch>.tar.gz
//
// Both hold the files of nfpm.yaml at the same paths. It also generates two
// of those files: the packaged systemd unit, from deploy/systemd (run as the
// package's monitor443 user from /usr/bin), and the gzipped man page.
// Everything is reproducible: file times are the build time (normally the
// commit time, SOURCE_DATE_EPOCH), owners are root, entries are sorted and
// gzip headers carry no name or time, so one commit gives byte-identical
// files.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nfpm:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("nfpm", flag.ContinueOnError)
	root := fs.String("root", ".", "repository root; nfpm.yaml's sources are relative to it")
	config := fs.String("config", "deploy/package/nfpm.yaml", "nfpm configuration, relative to -root")
	unit := fs.String("unit", "deploy/systemd/monitor443.service", "systemd unit to adapt for the package, relative to -root")
	arch := fs.String("arch", "", "Go architecture of -bin: amd64 or arm64")
	bin := fs.String("bin", "", "the monitor443 binary for -arch")
	man := fs.String("man", "", "the man page (roff, as help2man writes it)")
	version := fs.String("version", "", "monitor443's version (git describe), turned into a Debian version")
	suffix := fs.String("version-suffix", "", "appended to the Debian version (the install test builds a newer package this way)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "build time in seconds since 1970 (SOURCE_DATE_EPOCH): file times and the version's date")
	out := fs.String("out", ".", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *arch == "" || *bin == "" || *man == "" || *version == "" || *epoch == "" {
		return errors.New("-arch, -bin, -man, -version and -epoch (or SOURCE_DATE_EPOCH) are required")
	}
	sec, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("-epoch: %w", err)
	}
	mtime := time.Unix(sec, 0).UTC()
	for _, p := range []*string{bin, man, out} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	if err := os.Chdir(*root); err != nil {
		return err
	}

	stage, err := os.MkdirTemp("", "monitor443-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := stageUnit(*unit, filepath.Join(stage, "monitor443.service")); err != nil {
		return err
	}
	if err := stageMan(*man, filepath.Join(stage, "monitor443.1.gz")); err != nil {
		return err
	}

	env := map[string]string{"BIN": *bin, "STAGE": stage}
	cfg, err := nfpm.ParseFileWithEnvMapping(*config, func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("%s: %w", *config, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return err
	}
	info.Version = debVersion(*version, mtime) + *suffix
	info.Arch = *arch
	info.MTime = mtime
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return err
	}

	debName := filepath.Join(*out, deb.Default.ConventionalFileName(info))
	if err := writeFile(debName, func(w io.Writer) error { return deb.Default.Package(info, w) }); err != nil {
		return fmt.Errorf("deb: %w", err)
	}
	top := fmt.Sprintf("%s_%s_linux_%s", info.Name, info.Version, *arch)
	tarName := filepath.Join(*out, top+".tar.gz")
	if err := writeFile(tarName, func(w io.Writer) error { return writeTarGz(w, top, info.Contents, mtime) }); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	fmt.Fprintln(stdout, debName)
	fmt.Fprintln(stdout, tarName)
	return nil
}

// writeFile creates name and fills it with write.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stageUnit writes the package's systemd unit: src with the binary in
// /usr/bin and the static monitor443 user in place of DynamicUser, so that
// the user can own secret files in /etc/monitor443 and the state directory
// the package creates. src's leading comment (install by hand) and the
// comment on DynamicUser give way to the package's. It fails if src no
// longer has the lines it replaces.
func stageUnit(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	out, err := packageUnit(string(b))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return os.WriteFile(dst, []byte(out), 0o644)
}

func packageUnit(src string) (string, error) {
	lines := strings.Split(src, "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		lines = lines[1:]
	}
	header := []string{
		"# systemd unit of the monitor443 Debian package.",
		"# Configuration: /etc/monitor443/monitor443.yml; check it with",
		"#   monitor443 -config.check -config.file /etc/monitor443/monitor443.yml",
		"# then: systemctl enable --now monitor443",
		"# Override settings with `systemctl edit monitor443` rather than editing",
		"# this file (for example ExecStart to add -i eth1, or MemoryMax).",
	}
	var res []string
	var execStart, user bool
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "ExecStart=/usr/local/bin/monitor443 "):
			l = "ExecStart=/usr/bin/monitor443 " + strings.TrimPrefix(l, "ExecStart=/usr/local/bin/monitor443 ")
			execStart = true
		case l == "DynamicUser=yes":
			for len(res) > 0 && strings.HasPrefix(res[len(res)-1], "#") {
				res = res[:len(res)-1]
			}
			res = append(res,
				"# The package's system user: it owns /var/lib/monitor443 and may be",
				"# given read access to secret files in /etc/monitor443.",
				"User=monitor443",
				"Group=monitor443")
			user = true
			continue
		}
		res = append(res, l)
	}
	if !execStart || !user {
		return "", errors.New("no line ExecStart=/usr/local/bin/monitor443 ... or DynamicUser=yes to adapt")
	}
	return strings.Join(append(header, res...), "\n"), nil
}

// stageMan gzips the man page as Debian wants it, with no name or time in
// the gzip header.
func stageMan(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return fmt.Errorf("%s: empty man page", src)
	}
	return writeFile(dst, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(b); err != nil {
			return err
		}
		return zw.Close()
	})
}

// writeTarGz writes contents (as prepared for the deb) as a tar.gz whose
// entries sit under the folder top, owned by root, dated mtime, sorted.
func writeTarGz(w io.Writer, top string, contents files.Contents, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	sorted := append(files.Contents(nil), contents...)
	sort.Sort(sorted)
	hdr := func(name string, typ byte, mode int64, size int64) *tar.Header {
		return &tar.Header{
			Typeflag: typ, Name: name, Mode: mode, Size: size,
			ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatGNU,
		}
	}
	if err := tw.WriteHeader(hdr(top+"/", tar.TypeDir, 0o755, 0)); err != nil {
		return err
	}
	for _, c := range sorted {
		name := top + "/" + strings.TrimPrefix(c.Destination, "/")
		mode := int64(c.FileInfo.Mode.Perm())
		switch c.Type {
		case files.TypeDir, files.TypeImplicitDir:
			if err := tw.WriteHeader(hdr(strings.TrimSuffix(name, "/")+"/", tar.TypeDir, mode, 0)); err != nil {
				return err
			}
		case files.TypeFile, files.TypeConfig, files.TypeConfigNoReplace:
			b, err := os.ReadFile(c.Source)
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(hdr(name, tar.TypeReg, mode, int64(len(b)))); err != nil {
				return err
			}
			if _, err := io.Copy(tw, bytes.NewReader(b)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: content type %q not supported in the archive", c.Destination, c.Type)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
