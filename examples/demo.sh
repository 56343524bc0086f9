#!/bin/sh
# The offline demo: score a bundled sample of insights from one incident
# night and show the opportunities sb would work on, best first.
set -eu
cd "$(dirname "$0")/.."
PATH="$PWD/bin:$PATH"
export SB_STATE_DIR="${SB_STATE_DIR:-$PWD/build/demo-state}"

echo "== sb demo: scoring $(wc -l <examples/data/insights.ndjson) insights from examples/data/insights.ndjson"
echo "\$ sb-score --config examples/config.json --max 5 examples/data/insights.ndjson"
sb-score --config examples/config.json --max 5 examples/data/insights.ndjson >build/demo-opportunities.ndjson
echo
printf '%-4s %-10s %-7s %-6s %-5s %s\n' RANK IMPACT SCOPE RISK APPR TITLE
jq -r '[.rank, .impact, .scope, .risk, (if .requires_approval then "yes" else "no" end), .title] | @tsv' \
	build/demo-opportunities.ndjson |
	awk -F '\t' '{ printf "%-4s %-10s %-7s %-6s %-5s %s\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "The full records are in build/demo-opportunities.ndjson; the first one:"
head -1 build/demo-opportunities.ndjson | jq .
