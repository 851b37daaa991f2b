#!/bin/sh
# Install test of the monitor443 Debian package (make package-test), on this
# machine, as root: install the .deb that make package built for this
# machine's architecture, check what it installed, run the binary as the
# monitor443 user, upgrade to a newer build with a changed configuration,
# remove, purge, and check that nothing is left. It leaves the machine as it
# was: the package purged and the monitor443 user deleted (unless either was
# there before it started; an installed monitor443 makes it stop at once).
#
# usage: VERSION=... SOURCE_DATE_EPOCH=... sh deploy/package/test.sh DIST
# where DIST is make package's output folder.
set -eu

dist=${1:?usage: test.sh DIST}
: "${VERSION:?}" "${SOURCE_DATE_EPOCH:?}"
pkg=monitor443
conf=/etc/monitor443/monitor443.yml
unit=/lib/systemd/system/monitor443.service

if [ "$(id -u)" != 0 ]; then
	echo "package-test: skipped, needs root (dpkg)"
	exit 0
fi
status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)
if [ -n "$status" ] && [ "$status" != not-installed ]; then
	echo "package-test: $pkg is on this machine ($status); not touching it" >&2
	exit 1
fi

arch=$(dpkg --print-architecture)
set -- "$dist"/${pkg}_*_"$arch".deb
[ $# = 1 ] && [ -f "$1" ] || { echo "package-test: want one $arch .deb in $dist, have: $*" >&2; exit 1; }
deb=$(realpath "$1")
tarball=$(realpath "$dist"/${pkg}_*_linux_"$arch".tar.gz)

tmp=$(mktemp -d)
had_user=no
if getent passwd monitor443 >/dev/null; then had_user=yes; fi
cleanup() {
	dpkg --purge "$pkg" >/dev/null 2>&1 || true
	if [ "$had_user" = no ]; then
		if getent passwd monitor443 >/dev/null; then deluser --system monitor443 >/dev/null 2>&1 || true; fi
		if getent group monitor443 >/dev/null; then delgroup --system monitor443 >/dev/null 2>&1 || true; fi
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: runs COMMAND, quietly.
check() {
	what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/     /' "$tmp/out"; fi
}
# Paths whose name mentions monitor443 outside the package's own files: the
# machine's state before and after.
traces() {
	find /etc /var/lib /var/cache/monitor443 /usr/bin /usr/sbin /usr/share /lib/systemd /usr/lib/systemd \
		-name '*monitor443*' -not -path '/var/lib/dpkg/*' 2>/dev/null | LC_ALL=C sort
}
traces >"$tmp/traces.before"

echo "== install $(basename "$deb")"
# apt-get pulls in the dependencies (adduser, libcap2-bin) from the archive.
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >"$tmp/apt.log" 2>&1; then
	cat "$tmp/apt.log"
	echo "package-test: apt-get install failed" >&2
	exit 1
fi
check "status is installed" sh -c "dpkg-query -W -f '\${db:Status-Status}' $pkg | grep -qx installed"

for f in /usr/bin/monitor443 $unit $conf /usr/share/man/man1/monitor443.1.gz \
	/usr/share/doc/monitor443/monitor443.example.yml /usr/share/doc/monitor443/README.md; do
	check "installed $f" test -s "$f"
done
for f in deploy/grafana/*.json deploy/prometheus/rules/monitor443.rules.yml; do
	case $f in deploy/grafana/*) dst=/usr/share/monitor443/grafana/${f##*/} ;; *) dst=/usr/share/monitor443/prometheus/${f##*/} ;; esac
	check "installed $dst as in the repository" cmp "$f" "$dst"
done
check "config is the package's and a conffile" sh -c \
	"cmp deploy/package/monitor443.yml $conf && dpkg-query -W -f '\${Conffiles}' $pkg | grep -q ' $conf '"
check "man page" sh -c "zcat /usr/share/man/man1/monitor443.1.gz | grep -q '^\.TH MONITOR443 \"1\"' &&
	zcat /usr/share/man/man1/monitor443.1.gz | grep -q 'validate the configuration'"
check "release archive has the .deb's files" sh -c \
	"dpkg-deb --fsys-tarfile $deb | tar -t | sed 's#^\./##' | grep -v '^$' | LC_ALL=C sort >$tmp/deb.list &&
	tar -tzf $tarball | sed 's#^[^/]*/##' | grep -v '^$' | LC_ALL=C sort >$tmp/tar.list &&
	diff $tmp/deb.list $tmp/tar.list"
check "SHA256SUMS matches" sh -c "cd $dist && sha256sum --quiet -c SHA256SUMS"
# The other architectures' packages cannot be installed here: check their
# binaries' machine and that they need no dynamic loader.
for other in "$dist"/${pkg}_*.deb; do
	a=$(dpkg-deb -f "$other" Architecture)
	[ "$a" != "$arch" ] || continue
	case $a in amd64) machine='X86-64' ;; arm64) machine='AArch64' ;; *) machine=unknown ;; esac
	check "$a package holds a static $machine binary" sh -c \
		"dpkg-deb --fsys-tarfile $other | tar -xOf - ./usr/bin/monitor443 >$tmp/other &&
		readelf -h $tmp/other | grep -q 'Machine: *$machine' && ! readelf -l $tmp/other | grep -q INTERP"
done

check "system user monitor443 with no login shell" sh -c \
	"uid=\$(id -u monitor443) && [ \$uid -lt 1000 ] && getent passwd monitor443 | grep -q ':/usr/sbin/nologin$' &&
	getent group monitor443 >/dev/null"
check "state directories owned by monitor443" sh -c \
	"[ \"\$(stat -c '%U:%G %a' /var/lib/monitor443)\" = 'monitor443:monitor443 750' ] &&
	[ \"\$(stat -c '%U:%G %a' /var/lib/monitor443/spool)\" = 'monitor443:monitor443 750' ]"
check "binary root:monitor443 0754 (statoverride)" sh -c \
	"stat -c '%U:%G %a' /usr/bin/monitor443; dpkg-statoverride --list /usr/bin/monitor443;
	[ \"\$(stat -c '%U:%G %a' /usr/bin/monitor443)\" = 'root:monitor443 754' ] &&
	dpkg-statoverride --list /usr/bin/monitor443 | grep -Eqx 'root monitor443 0?754 /usr/bin/monitor443'"
check "capabilities cap_net_admin,cap_net_raw=eip" sh -c \
	"getcap /usr/bin/monitor443 | grep -q 'cap_net_admin,cap_net_raw=eip'"
check "version and commit in the binary" sh -c \
	"/usr/bin/monitor443 -version | grep -F 'monitor443 $VERSION (commit ' | grep -q 'linux/$arch'"

check "config accepted as the monitor443 user" \
	runuser -u monitor443 -- /usr/bin/monitor443 -config.check -config.file $conf
check "systemd-analyze verify: no complaint" sh -c \
	"out=\$(systemd-analyze verify $unit 2>&1) && echo \"\$out\" && [ -z \"\$out\" ]"
check "unit runs the installed binary as monitor443" sh -c \
	"grep -q '^ExecStart=/usr/bin/monitor443 -config.file=$conf ' $unit && grep -qx 'User=monitor443' $unit"

# A replay as the service runs it (its user, the installed config): the
# capture comes on stdin, which is opened as root.
check "replay testdata/demo.pcap as monitor443" sh -c \
	"runuser -u monitor443 -- /usr/bin/monitor443 -r - -config.file $conf -progress never \
		-output.alerts - -log.format json <testdata/demo.pcap >$tmp/replay.out 2>$tmp/replay.err ||
	{ cat $tmp/replay.err; exit 1; }
	grep -q '\"state\":\"firing\"' $tmp/replay.out"
check "baselines saved in the state directory" sh -c \
	"find /var/lib/monitor443 -maxdepth 1 -type f -user monitor443 | grep -q ."

echo "== upgrade"
sed -i 's/^  interface: ""/  interface: lo/' $conf
echo "# changed by the install test" >>$conf
cp $conf "$tmp/changed.yml"
(cd "$tmp" && ls -l /var/lib/monitor443 >state.before)
"$dist/build/nfpm" -arch "$arch" -bin "$dist/build/linux_$arch/monitor443" -man "$dist/build/monitor443.1" \
	-version "$VERSION" -epoch "$SOURCE_DATE_EPOCH" -version-suffix +upgradetest -out "$tmp" >/dev/null
newdeb=$(echo "$tmp"/${pkg}_*+upgradetest_"$arch".deb)
newversion=$(dpkg-deb -f "$newdeb" Version)
check "the new build is newer" dpkg --compare-versions "$newversion" gt "$(dpkg-query -W -f '${Version}' $pkg)"
if ! dpkg -i "$newdeb" </dev/null >"$tmp/dpkg.log" 2>&1; then
	cat "$tmp/dpkg.log"
	echo "package-test: dpkg -i (upgrade) failed" >&2
	exit 1
fi
check "upgraded to $newversion" sh -c "[ \"\$(dpkg-query -W -f '\${Version}' $pkg)\" = '$newversion' ]"
check "changed config kept, no .dpkg-* copies" sh -c \
	"cmp $tmp/changed.yml $conf && [ -z \"\$(ls /etc/monitor443 | grep dpkg)\" ]"
check "changed config accepted as the monitor443 user" \
	runuser -u monitor443 -- /usr/bin/monitor443 -config.check -config.file $conf
check "state kept" sh -c "ls -l /var/lib/monitor443 | diff $tmp/state.before -"
check "capabilities set again on the new binary" sh -c \
	"getcap /usr/bin/monitor443 | grep -q 'cap_net_admin,cap_net_raw=eip' &&
	[ \"\$(stat -c '%U:%G %a' /usr/bin/monitor443)\" = 'root:monitor443 754' ]"

echo "== remove"
dpkg --remove "$pkg" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
check "binary, unit and shared files gone" sh -c \
	"[ ! -e /usr/bin/monitor443 ] && [ ! -e $unit ] && [ ! -e /usr/share/monitor443 ] && [ ! -e /usr/share/man/man1/monitor443.1.gz ]"
check "config kept" cmp "$tmp/changed.yml" $conf
check "state kept" test -d /var/lib/monitor443/spool
check "status is config-files" sh -c "dpkg-query -W -f '\${db:Status-Status}' $pkg | grep -qx config-files"

echo "== purge"
dpkg --purge "$pkg" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
check "config and state gone" sh -c "[ ! -e /etc/monitor443 ] && [ ! -e /var/lib/monitor443 ]"
check "statoverride gone" sh -c "! dpkg-statoverride --list /usr/bin/monitor443"
traces >"$tmp/traces.after"
check "nothing else left" diff "$tmp/traces.before" "$tmp/traces.after"
check "status is not-installed" sh -c \
	"s=\$(dpkg-query -W -f '\${db:Status-Status}' $pkg 2>/dev/null || true); [ -z \"\$s\" ] || [ \"\$s\" = not-installed ]"
# Kept on purge, as Debian recommends; cleanup deletes it.
check "user kept" getent passwd monitor443

echo "package-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
