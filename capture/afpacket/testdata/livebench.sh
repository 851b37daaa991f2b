#!/bin/sh
# livebench.sh: the live-capture part of docs/benchmarks.md. It replays a
# capture with tcpreplay at increasing packet rates over a veth pair that
# this script creates (namespace m443lb-<pid>, addresses inside 198.51.100.0/24
# are never routed anywhere), and reports, per rate, the packets monitor443's
# AF_PACKET source received and the kernel dropped, then the same for
# tcpdump (whose filter, like monitor443's kernel pre-filter, is "tcp port
# 443 or udp port 443"; it does not match 802.1Q-tagged frames, so tcpdump
# receives fewer frames of a capture that has VLAN tags). Run as root from the repository root:
#
#   sh capture/afpacket/testdata/livebench.sh bin/monitor443 FILE.pcap [PACKETS]
#
# PACKETS (default 1000000) bounds each replay; the rates are fixed below.
set -eu
bin=${1:?usage: livebench.sh MONITOR443 FILE.pcap [PACKETS]}
pcap=${2:?missing FILE.pcap}
limit=${3:-1000000}
id=$$
ns=m443lb-$id
va=m443la$id
vb=m443lb$id
cleanup() {
	[ -n "${mpid:-}" ] && kill "$mpid" 2>/dev/null || true
	[ -n "${tpid:-}" ] && kill "$tpid" 2>/dev/null || true
	ip link del "$va" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip link add "$va" type veth peer name "$vb" netns "$ns"
ip link set "$va" up
ip -n "$ns" link set "$vb" up
ip -n "$ns" link set lo up
port=19443
tmp=$(mktemp -d)
printf 'capture:\n  workers: 2\n  ring_mib: 64\n' > "$tmp/c.yml"
printf '%-12s %-10s %12s %14s %14s %14s %10s\n' tool pps_target actual_pps sent received kernel_drops drop_pct
for pps in 100000 250000 500000 1000000 topspeed; do
	speed="--pps=$pps"
	[ "$pps" = topspeed ] && speed="--topspeed"
	# monitor443
	"$bin" -i "$va" -config.file "$tmp/c.yml" -web.listen-address 127.0.0.1:$port -log.level error 2>/dev/null &
	mpid=$!
	sleep 1.5
	out=$(ip netns exec "$ns" tcpreplay -i "$vb" $speed --limit="$limit" "$pcap" 2>&1)
	sent=$(echo "$out" | awk '/Actual:/ {print $2}')
	rate=$(echo "$out" | awk '/Rated:/ {for (i=1;i<=NF;i++) if ($i ~ /^pps/) print int($(i-1))}')
	sleep 1.5
	m=$(curl -s 127.0.0.1:$port/metrics)
	recv=$(echo "$m" | awk '/^monitor443_capture_frames_total / {print $2}')
	drop=$(echo "$m" | awk '/^monitor443_capture_kernel_drops_total / {print $2}')
	kill "$mpid"; wait "$mpid" 2>/dev/null || true; mpid=
	printf '%-12s %-10s %12s %14s %14.0f %14s %10s\n' monitor443 "$pps" "$rate" "$sent" "$recv" "$drop" \
		"$(awk -v d="$drop" -v r="$recv" 'BEGIN{ if (d+r>0) printf "%.2f", 100*d/(d+r); else print "n/a" }')"
	# tcpdump on the same link, same filter, writing nowhere
	tcpdump -i "$va" -w /dev/null -B 65536 'tcp port 443 or udp port 443' 2> "$tmp/td.err" &
	tpid=$!
	sleep 1.5
	out=$(ip netns exec "$ns" tcpreplay -i "$vb" $speed --limit="$limit" "$pcap" 2>&1)
	sent=$(echo "$out" | awk '/Actual:/ {print $2}')
	rate=$(echo "$out" | awk '/Rated:/ {for (i=1;i<=NF;i++) if ($i ~ /^pps/) print int($(i-1))}')
	sleep 1.5
	kill -INT "$tpid"; wait "$tpid" 2>/dev/null || true; tpid=
	recv=$(awk '/packets received by filter/ {print $1}' "$tmp/td.err")
	drop=$(awk '/packets dropped by kernel/ {print $1}' "$tmp/td.err")
	printf '%-12s %-10s %12s %14s %14s %14s %10s\n' tcpdump "$pps" "$rate" "$sent" "$recv" "$drop" \
		"$(awk -v d="$drop" -v r="$recv" 'BEGIN{ if (r>0) printf "%.2f", 100*d/r; else print "n/a" }')"
done
rm -rf "$tmp"
