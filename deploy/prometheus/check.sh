#!/bin/sh
# check.sh checks the Prometheus configuration and rules in this folder and
# runs the rule unit tests. It exits non-zero on the first failure.
#
# Usage: deploy/prometheus/check.sh   (from any directory)
# Set PROMTOOL to use a promtool binary not on PATH.
set -eu

promtool=${PROMTOOL:-promtool}
if ! command -v "$promtool" >/dev/null 2>&1; then
	echo "check.sh: $promtool not found (install Prometheus or set PROMTOOL)" >&2
	exit 1
fi

cd "$(dirname "$0")"

"$promtool" check rules rules/monitor443.rules.yml
"$promtool" check config --syntax-only prometheus.yml
"$promtool" check config --syntax-only ../container/prometheus.yml
"$promtool" test rules rules/monitor443.rules.test.yml

# The compose stack's Alertmanager configuration, when amtool is installed.
if command -v "${AMTOOL:-amtool}" >/dev/null 2>&1; then
	"${AMTOOL:-amtool}" check-config ../container/alertmanager/alertmanager.yml
fi
