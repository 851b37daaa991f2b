#!/bin/sh
# livebench.sh: the live-capture part of docs/benchmarks.md. It sends
# traffic with trafgen (netsniff-ng; a PF_PACKET generator) through a veth
# pair into a network namespace that this script creates, at increasing
# packet rates, and reports for each rate the packets that monitor443's
# AF_PACKET source (-workers 1, then 2) and tcpdump -w /dev/null received
# and the kernel dropped, until a rate with drops, with the TLS
# ClientHellos monitor443 counted and the load average before the step
# (other work on the machine skews the figures). Run as root from the
# repository root:
#
#   sh capture/afpacket/testdata/livebench.sh bin/monitor443 FILE.pcap [PACKETS]
#
# The traffic repeats a cycle of 28 frames shaped like the bench capture's
# (frame sizes: 36 % of 66-74 bytes, 11 % of 104, 11 % between 240 and 926,
# 36 % of 1514; mean 688 bytes): TCP SYNs and ACKs with options, server data
# in TLS records, and one TLS ClientHello (3.6 % of frames) whose bytes are
# the first ClientHello of FILE.pcap that fills one segment (read with
# tshark). Each connection's SYN, SYN-ACK, ACK, ClientHello and data share
# addresses and ports; clients are in 198.51.100.0/24, servers in
# 203.0.113.0/24, port 443.
#
# Each step sends min(PACKETS, rate x SECS) packets (PACKETS defaults to
# 5000000, SECS to 10) and is cut off by timeout(1) after twice its
# expected time plus 20 s. Rates are RATES (packets/s; "max" sends as fast
# as one trafgen process's TX_RING can, "max2" with two processes, one per
# core, competing with the capture for the CPUs; below that trafgen paces
# with sendto, which reaches about 0.45 Mpps here). A tool's series ends at
# its first step with drops. The script removes the namespace, the veth
# pair and its temporary files itself, and stops only the processes it
# started.
set -eu
bin=${1:?usage: livebench.sh MONITOR443 FILE.pcap [PACKETS]}
pcap=${2:?missing FILE.pcap}
limit=${3:-5000000}
secs=${SECS:-10}
rates=${RATES:-"100000 200000 300000 400000 450000 max max2"}
for tool in trafgen tshark tcpdump curl timeout; do
	command -v "$tool" >/dev/null || { echo "livebench: $tool not found (trafgen: apt-get install netsniff-ng)" >&2; exit 1; }
done
id=$$
ns=m443lb-$id
va=m443la$id # capture side
vb=m443lb$id # trafgen side, in the namespace
port=19443
tmp=$(mktemp -d)
cpid= # the capture
tpid= # trafgen (under timeout)
cleanup() {
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null || true
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
	ip link del "$va" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$ns"
ip link add "$va" type veth peer name "$vb" netns "$ns"
ip link set "$va" up
ip -n "$ns" link set "$vb" up

# The packet cycle.
# The first ClientHello that fills one segment, of 200 bytes or more.
hello=$(tshark -l -r "$pcap" -n -Y 'tcp.payload[0] == 0x16 && tcp.payload[5] == 0x01' -T fields -e tcp.payload 2>/dev/null |
	head -n 100 | tr -d ':' | while read -r h; do
		if [ ${#h} -ge 400 ] && [ $((${#h} / 2)) -eq $(($(printf '%d' "0x$(echo "$h" | cut -c7-10)") + 5)) ]; then
			echo "$h"
			break
		fi
	done)
[ -n "$hello" ] || { echo "livebench: no TLS ClientHello in $pcap" >&2; exit 1; }
hbytes=$(printf '%s' "$hello" | sed 's/../0x&, /g; s/, $//')
mac='eth(da=02:00:5e:00:53:02, sa=02:00:5e:00:53:01)'
c2s='ipv4(sa=198.51.100.0, sa[3]=dinc(1, 254), da=203.0.113.10, ttl=64, df)'
s2c='ipv4(sa=203.0.113.10, da=198.51.100.0, da[3]=dinc(1, 254), ttl=64, df)'
ts='0x01, 0x01, 0x08, 0x0a, c32(1), c32(2)' # NOP NOP timestamps: 12 bytes
cseq=$((1001 + ${#hello} / 2))             # the client's sequence number after the hello
sseq=5001                                  # the server's
{
	syn='0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, c32(1), c32(0), 0x01, 0x03, 0x03, 0x07' # 20 bytes
	# A connection: SYN, SYN-ACK, ACK, ClientHello (74, 74, 66 bytes and the hello)
	echo "{ $mac, $c2s, tcp(sp=dinc(1024, 65000), dp=443, seq=1000, syn, win=64240, hlen=10), $syn }"
	echo "{ $mac, $s2c, tcp(sp=443, dp=dinc(1024, 65000), seq=5000, aseq=1001, syn, ack, win=65160, hlen=10), $syn }"
	echo "{ $mac, $c2s, tcp(sp=dinc(1024, 65000), dp=443, seq=1001, aseq=5001, ack, win=502, hlen=8), $ts }"
	echo "{ $mac, $c2s, tcp(sp=dinc(1024, 65000), dp=443, seq=1001, aseq=5001, ack, psh, win=502, hlen=8), $ts, $hbytes }"
	# A SYN of another connection (74 bytes), two more client ACKs (66)
	echo "{ $mac, $c2s, tcp(sp=drnd(1024, 65000), dp=443, seq=1000, syn, win=64240, hlen=10), $syn }"
	for i in 1 2; do
		echo "{ $mac, $c2s, tcp(sp=dinc(1024, 65000), dp=443, seq=$cseq, aseq=5001, ack, win=502, hlen=8), $ts }"
	done
	for i in 1 2 3; do
		echo "{ $mac, $s2c, tcp(sp=443, dp=dinc(1024, 65000), seq=5001, aseq=$cseq, ack, win=501, hlen=8), $ts }"
	done
	for n in 38 38 38 174 389 860 860; do # 104 to 926 bytes: TLS records
		echo "{ $mac, $s2c, tcp(sp=443, dp=dinc(1024, 65000), seq=$sseq, aseq=$cseq, ack, psh, win=501, hlen=8), $ts, 0x17, 0x03, 0x03, c16($((n - 5))), fill(0xab, $((n - 5))) }"
		sseq=$((sseq + n))
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do # 1514 bytes
		echo "{ $mac, $s2c, tcp(sp=443, dp=dinc(1024, 65000), seq=$sseq, aseq=$cseq, ack, win=501, hlen=8), $ts, 0x17, 0x03, 0x03, c16(1443), fill(0xab, 1443) }"
		sseq=$((sseq + 1448))
	done
	# The client's RST that ends the connection (66 bytes)
	echo "{ $mac, $c2s, tcp(sp=dinc(1024, 65000), dp=443, seq=$cseq, aseq=$sseq, ack, rst, win=502, hlen=8), $ts }"
} > "$tmp/cycle.cfg"

# send RATE: sends one step's packets; sets sent and pps (achieved).
send() {
	cpus=1
	if [ "$1" = max ] || [ "$1" = max2 ]; then
		n=$limit pace=
		[ "$1" = max ] || cpus=2
	else
		n=$(awk -v r="$1" -v s="$secs" -v l="$limit" 'BEGIN { n = r * s; print (n < l ? n : l) }')
		pace="-b ${1}pps"
	fi
	t=$(awk -v n="$n" -v r="$1" 'BEGIN { print (r ~ /^max/ ? 60 : int(2 * n / r) + 20) }')
	s=$(date +%s.%N)
	# shellcheck disable=SC2086
	ip netns exec "$ns" timeout "$t" trafgen -o "$vb" -i "$tmp/cycle.cfg" -n "$n" -P "$cpus" --notouch-irq --no-sock-mem $pace >"$tmp/tg.out" 2>&1 &
	tpid=$!
	wait "$tpid" || true
	tpid=
	e=$(date +%s.%N)
	sent=$(tr -d '\r' <"$tmp/tg.out" | awk '/packets outgoing/ { n += $1 } END { print n + 0 }')
	pps=$(awk -v n="$sent" -v s="$s" -v e="$e" 'BEGIN { printf "%d", n / (e - s) }')
}

# metric NAME: a monitor443 metric's value, summed over its labels.
metric() {
	curl -s "127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { n += $2 } END { printf "%d", n }'
}

echo "machine: $(nproc) cores, $(uname -r), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "packets per step: min($limit, rate x $secs s)"
printf '%-14s %-8s %12s %10s %10s %8s %8s  %s\n' tool target achieved_pps sent received drops hellos load
printf 'capture:\n  ring_mib: 64\n' > "$tmp/c.yml"
for tool in monitor443-w1 monitor443-w2 tcpdump; do
	for rate in $rates; do
		load=$(awk '{ print $1, $2, $3 }' /proc/loadavg)
		case $tool in
		monitor443-*)
			"$bin" -i "$va" -workers "${tool#monitor443-w}" -config.file "$tmp/c.yml" \
				-web.listen-address "127.0.0.1:$port" -log.level error 2>"$tmp/m.err" &
			cpid=$!
			i=0
			until curl -sf "127.0.0.1:$port/readyz" >/dev/null 2>&1; do
				i=$((i + 1))
				[ $i -lt 100 ] || { echo "livebench: monitor443 did not start" >&2; cat "$tmp/m.err" >&2; exit 1; }
				sleep 0.1
			done
			sleep 0.5
			send "$rate"
			sleep 2
			recv=$(metric monitor443_capture_frames_total)
			drop=$(metric monitor443_capture_kernel_drops_total)
			hellos=$(metric monitor443_tls_client_hellos_total)
			kill "$cpid"
			wait "$cpid" 2>/dev/null || true
			cpid=
			;;
		tcpdump)
			tcpdump -i "$va" -n -w /dev/null -B 65536 'tcp port 443 or udp port 443' 2>"$tmp/td.err" &
			cpid=$!
			i=0
			until grep -q listening "$tmp/td.err"; do
				i=$((i + 1))
				[ $i -lt 100 ] || { echo "livebench: tcpdump did not start" >&2; cat "$tmp/td.err" >&2; exit 1; }
				sleep 0.1
			done
			sleep 0.5
			send "$rate"
			sleep 2
			kill -INT "$cpid"
			wait "$cpid" 2>/dev/null || true
			cpid=
			recv=$(awk '/packets received by filter/ { print $1 }' "$tmp/td.err")
			drop=$(awk '/packets dropped by kernel/ { print $1 }' "$tmp/td.err")
			hellos=-
			;;
		esac
		printf '%-14s %-8s %12s %10s %10s %8s %8s  %s\n' "$tool" "$rate" "$pps" "$sent" "${recv:-?}" "${drop:-?}" "$hellos" "$load"
		[ "${drop:-0}" = 0 ] || break
	done
done
