#!/bin/sh
# tlslab.sh builds and removes the throwaway network used by the live-capture
# tests of capture/afpacket and capture/libpcap:
#
#   netns m443-ID-s (server)                 netns m443-ID-c (client)
#   m443sID 198.51.100.1/24 2001:db8::1/64 <-veth-> m443cID 198.51.100.2/24 2001:db8::2/64
#
# and, for "up", a self-signed certificate and an nginx config in DIR
# (TLS on 443 with HTTP/2, plain HTTP on 8080, daemon off, every path in DIR).
# The tests start and stop nginx themselves, by its process ID.
#
# Usage: tlslab.sh up ID DIR | tlslab.sh down ID
# ID is short (the veth names must fit in 15 bytes); the tests use
# their process ID and a sequence number. Run as root.
set -eu

cmd=${1:?usage: tlslab.sh up ID DIR | down ID}
id=${2:?missing ID}
srv=m443-$id-s
cli=m443-$id-c
vs=m443s$id
vc=m443c$id

case $cmd in
up)
	dir=${3:?missing DIR}
	ip netns add "$srv"
	ip netns add "$cli"
	ip -n "$srv" link add "$vs" type veth peer name "$vc" netns "$cli"
	for ns in "$srv" "$cli"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
		ip -n "$ns" link set lo up
	done
	ip -n "$srv" addr add 198.51.100.1/24 dev "$vs"
	ip -n "$srv" addr add 2001:db8::1/64 dev "$vs" nodad
	ip -n "$cli" addr add 198.51.100.2/24 dev "$vc"
	ip -n "$cli" addr add 2001:db8::2/64 dev "$vc" nodad
	ip -n "$srv" link set "$vs" up
	ip -n "$cli" link set "$vc" up

	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=m443.test \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 198.51.100.1:443 ssl http2;
		listen [2001:db8::1]:443 ssl http2;
		ssl_certificate $dir/cert.pem;
		ssl_certificate_key $dir/key.pem;
		location / { return 200 "ok tls\n"; }
	}
	server {
		listen 198.51.100.1:8080;
		location / { return 200 "ok plain\n"; }
	}
}
CONF
	;;
down)
	# Deleting a namespace destroys the veth pair inside it.
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	;;
*)
	echo "tlslab.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
