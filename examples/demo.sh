#!/bin/sh
# The offline demo (make demo): one whole improvement cycle, and its undoing,
# on a copy of the sample service examples/demo-service ("orders"), from the
# bundled telemetry of an incident in it (examples/data):
#
#   telemetry -> insights -> opportunities -> a change -> validated -> deployed
#   -> metrics after the deployment, worse -> verdict rollback -> rolled back
#   -> status and the audit log verified
#
# Everything happens in build/demo, wiped at the start of each run: the stage
# files (N-*.ndjson), the configuration made from examples/demo-config.json,
# the state directory, the copy of the service (orders/), the log of its
# reload and health commands (service.log) and the commands the demo ran,
# with their messages (commands.log). The clock of the tools is pinned
# with SB_NOW, so every run tells the same story, whatever the date.
# Exit status: 0 when the story went as expected, 1 otherwise.
#
# SB_DEMO_DIR names another directory to work in than build/demo (relative
# to the current directory); one that exists must be empty or a demo's.
set -eu
CALLER=$PWD
cd "$(dirname "$0")/.."
ROOT=$PWD
PATH="$ROOT/bin:$PATH"

WORK=${SB_DEMO_DIR:-build/demo}
case $WORK in
/*) DEMO=$WORK ;;
*) DEMO=$CALLER/$WORK ;;
esac
[ -n "${SB_DEMO_DIR:-}" ] || DEMO=$ROOT/$WORK
OWN_DIR=${SB_DEMO_DIR:+no}

# Only the demo's own settings: no SB_* variable of the caller's (but the
# audit actor) may change what the tools do.
for v in $(env | sed -n 's/^\(SB_[A-Za-z0-9_]*\)=.*/\1/p'); do
	[ "$v" = SB_ACTOR ] || unset "$v"
done
export TZ=UTC
export SB_CONFIG="$DEMO/config.json" SB_STATE_DIR="$DEMO/state"

DAY=2026-11-24
DEPLOY_AT=${DAY}T04:05:00Z # the cycle runs 5 minutes after the telemetry ends
JUDGE_AT=${DAY}T05:05:00Z  # sb-monitor judges at the end of the hour of monitoring

fail() {
	echo "sb demo: $*" >&2
	exit 1
}

started=
finish() {
	st=$?
	[ "$st" -eq 0 ] || [ -z "$started" ] || echo "sb demo: stopped (status $st); what there is so far is in $WORK" >&2
}
trap finish EXIT

for t in sb-stream sb-analyze sb-score sb-gen sb-validate sb-deploy sb-monitor sb-rollback; do
	[ -x "bin/$t" ] || fail "bin/$t is missing: run make first"
done
command -v jq >/dev/null || fail "jq is not installed"

# run OUT OK COMMAND...: run COMMAND in $DEMO with its output in OUT; its
# exit status must be one of the space-separated list OK. The command, its
# status and its standard error go to commands.log; the standard error is
# shown too when the status is unexpected.
run() {
	out=$1 ok=$2
	shift 2
	cmd=
	for a; do
		case $a in
		*[!A-Za-z0-9_./:=@%+,-]* | '') cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
		*) cmd="$cmd $a" ;;
		esac
	done
	set +e
	(cd "$DEMO" && "$@") >"$DEMO/$out" 2>"$DEMO/stderr.tmp"
	st=$?
	set -e
	{
		echo "\$$cmd >$out  # exit status $st"
		cat "$DEMO/stderr.tmp"
	} >>"$DEMO/commands.log"
	case " $ok " in
	*" $st "*) rm -f "$DEMO/stderr.tmp" ;;
	*)
		echo "sb demo:$cmd: exit status $st (expected $ok):" >&2
		sed 's/^/  /' "$DEMO/stderr.tmp" >&2
		exit 1
		;;
	esac
}

# say N NAME TEXT: the line of a stage
say() {
	printf '%2s %-9s %s\n' "$1" "$2" "$3"
}

# more TEXT: a second line of a stage
more() {
	printf '%13s%s\n' '' "$1"
}

# q JQ FILE: jq -r, slurping FILE
q() {
	jq -r -s "$1" "$2"
}

# Wipe the previous run: build/demo, or a directory of SB_DEMO_DIR that is
# empty or a demo's (.sb-demo marks it).
if [ -e "$DEMO" ] || [ -L "$DEMO" ]; then
	if [ ! -d "$DEMO" ] || [ -L "$DEMO" ]; then
		fail "$WORK is not a directory"
	fi
	[ -z "$OWN_DIR" ] || [ -e "$DEMO/.sb-demo" ] || [ -z "$(ls -A "$DEMO")" ] ||
		fail "$WORK is not empty and not the demo's: remove it, or set SB_DEMO_DIR to another directory"
	rm -rf "$DEMO"
fi
mkdir -p "$DEMO"
: >"$DEMO/.sb-demo"
started=1
cp -R examples/demo-service "$DEMO/orders"
jq --arg d "$DEMO" 'walk(if type == "string" then sub("^\\$DEMO"; $d) else . end)' \
	examples/demo-config.json >"$DEMO/config.json"

echo "sb demo: the orders service (examples/demo-service) through one improvement cycle, offline."
echo "Telemetry of an incident on $DAY (examples/data); everything else in $WORK."
echo

# 1. Telemetry: the service's metrics (NDJSON, as scraped) and its own log
# (JSON lines, read with --format json), merged in time order.
run metrics.tmp 0 sb-stream "$ROOT/examples/data/orders-metrics.ndjson"
run logs.tmp 0 sb-stream --format json --map component=.service "$ROOT/examples/data/orders-app.log"
jq -c -s 'sort_by(.ts | rtrimstr("Z"))[]' "$DEMO/metrics.tmp" "$DEMO/logs.tmp" >"$DEMO/1-telemetry.ndjson"
rm -f "$DEMO/metrics.tmp" "$DEMO/logs.tmp"
say 1 stream "$(q '"\(length) records (\(map(select(.type == "metric")) | length) metric, \(map(select(.type == "log")) | length) log, \(map(select(.level == "ERROR")) | length) of them ERROR), \(.[0].ts[11:16])-\(.[-1].ts[11:16]) UTC"' "$DEMO/1-telemetry.ndjson") -> $WORK/1-telemetry.ndjson"

# 2. Insights: windows of 30 minutes for the metrics; log templates by hour.
run 2-insights.ndjson 0 sb-analyze --window 30m 1-telemetry.ndjson
kinds=$(q 'map(select(.type == "insight")) | "\(length) insights (\(group_by(.kind) | map("\(length) \(.[0].kind)") | join(", ")))"' "$DEMO/2-insights.ndjson")
key=$(q 'map(select(.type == "insight" and .kind == "error_pattern" and .evidence.level == "ERROR")) | sort_by(-.evidence.count) | .[0] // empty | "\(.kind) (\(.severity)) \"\(.pattern)\" x\(.evidence.count) since \(.evidence.first_seen[11:16])\(.evidence.stack_frame // empty | ", raised at \(.)")"' "$DEMO/2-insights.ndjson")
[ -n "$key" ] || fail "sb-analyze found no ERROR pattern in the incident's logs (see $WORK/2-insights.ndjson)"
say 2 analyze "$kinds -> $WORK/2-insights.ndjson"
more "$key"

# 3. Opportunities, ranked by impact.
run 3-opportunities.ndjson 0 sb-score 2-insights.ndjson
best=$(q 'map(select(.type == "opportunity" and .rank == 1)) | .[0] // empty
	| "best: impact \(.impact | round), \(.risk) risk, \(.scope) scope, \(if .requires_approval then "needs" else "no" end) approval: \(.title)"' \
	"$DEMO/3-opportunities.ndjson")
[ -n "$best" ] || fail "sb-score made no opportunity (see $WORK/3-opportunities.ndjson)"
say 3 score "$(q 'map(select(.type == "opportunity")) | length' "$DEMO/3-opportunities.ndjson") opportunities -> $WORK/3-opportunities.ndjson"
more "$best"

# 4. A change for the best opportunity, by the offline rules provider and
# the playbook examples/playbook.json.
run 4-changes.ndjson 0 sb-gen --provider rules --playbook "$ROOT/examples/playbook.json" \
	--where '.rank == 1' 3-opportunities.ndjson
n=$(q 'map(select(.type == "change")) | length' "$DEMO/4-changes.ndjson")
[ "$n" -eq 1 ] || fail "sb-gen made $n changes for the best opportunity, not 1 (see $WORK/4-changes.ndjson)"
# What the rule changed, as its rationale ends: "(db.pool_size 10 -> 15)."
what=$(q '.[0] | "\(.files | map(.path) | join(", ")): \(.rationale | capture("\\((?<c>[^()]*->[^()]*)\\)\\.?$").c // "changed")"' \
	"$DEMO/4-changes.ndjson")
say 4 gen "1 change by rule $(q '.[0].model' "$DEMO/4-changes.ndjson") ($what) -> $WORK/4-changes.ndjson"

# 5. Validated, without running anything.
run 5-validated.ndjson "0 1" sb-validate 4-changes.ndjson
if [ "$(q '.[0].validation.ok' "$DEMO/5-validated.ndjson")" != true ]; then
	q '.[0].validation.checks[] | select(.ok == false) | "  \(.name): \(.file // "-"):\(.line // "-"): \(.message)"' \
		"$DEMO/5-validated.ndjson" >&2
	fail "sb-validate rejected the change (see $WORK/5-validated.ndjson)"
fi
say 5 validate "$(q '.[0].validation | "ok: \(.checks | map(select(.ok == true)) | length) checks passed (\(reduce .checks[].name as $n ([]; if index([$n]) then . else . + [$n] end) | join(", "))), digest \(.digest[0:12])"' \
	"$DEMO/5-validated.ndjson") -> $WORK/5-validated.ndjson"

# 6. Deployed at 04:05, within the service's deploy window (04:00-06:00),
# with --yes since features.autonomous_improvements is off.
run 6-deployments.ndjson 0 env SB_NOW="$DEPLOY_AT" sb-deploy --yes --monitor 1h 5-validated.ndjson
[ "$(q '.[0].status' "$DEMO/6-deployments.ndjson")" = deployed ] ||
	fail "sb-deploy did not deploy the change: $(q '.[0] | "\(.status): \(.reason)"' "$DEMO/6-deployments.ndjson")"
dep=$(q '.[0].id' "$DEMO/6-deployments.ndjson")
say 6 deploy "deployed $dep ($what) -> $WORK/6-deployments.ndjson"
more "$(q '.[0] | "at \(.started[11:16]), reload \(if .reload.ok then "ok" else "failed" end), health \(if .health.ok then "ok" else "failed" end), monitored until \(.monitor_until[11:16]); snapshot state/\(.snapshot)"' \
	"$DEMO/6-deployments.ndjson")"

# 7. The hour after the deployment, simulated: requests no longer wait for
# a connection, but the database, already at its limit and now given 15
# connections at once instead of 10, is slower for every request. One point a minute per metric, from a fixed
# Park-Miller sequence (the same in every awk), read back through sb-stream.
LC_ALL=C awk -v day="$DAY" -v start=245 '
function u() { seed = (16807 * seed) % 2147483647; return seed / 2147483647 }
function g() { return (u() + u() + u() + u() - 2) * 1.7320508 }
function rec(t, name, value, unit) {
	printf "{\"type\":\"metric\",\"ts\":\"%s\",\"tenant\":\"demo\",\"component\":\"orders\",\"source\":\"prometheus\",\"metric\":\"%s\",\"value\":%.1f,\"unit\":\"%s\",\"dims\":{\"instance\":\"orders-1\"}}\n", t, name, value, unit
}
BEGIN {
	seed = 20261124
	for (m = start; m < start + 60; m++) {
		t = sprintf("%sT%02d:%02d:30Z", day, int(m / 60), m % 60)
		rps = 119 + 3.5 * g()
		wait = 24 * exp(0.35 * g())
		lat = 92 + 0.3 * (rps - 38) + 2120 * exp(0.1 * g())
		rec(t, "latency_p95_ms", lat, "ms"); rec(t, "db_wait_ms", wait, "ms"); rec(t, "rps", rps, "1/s")
	}
}' >"$DEMO/after.tmp"
run 7-after-deploy.ndjson 0 sb-stream after.tmp
rm -f "$DEMO/after.tmp"
say 7 observe "$(q '"\(length) metric records \(.[0].ts[11:16])-\(.[-1].ts[11:16]) (simulated), on average: \(group_by(.metric) | map("\(.[0].metric) \(map(.value) | add / length | round) \(.[0].unit)") | join(", "))"' \
	"$DEMO/7-after-deploy.ndjson") -> $WORK/7-after-deploy.ndjson"

# 8. Judged at 05:05, the end of the hour of monitoring: the hour before the
# deployment (from 03:05) against the hour since. Status 1 means rollback.
run 8-verdicts.ndjson "0 1" env SB_NOW="$JUDGE_AT" sb-monitor --where '.type == "metric"' \
	1-telemetry.ndjson 7-after-deploy.ndjson
decision=$(q 'map(select(.type == "verdict")) | .[0].decision // "none"' "$DEMO/8-verdicts.ndjson")
[ "$decision" = rollback ] ||
	fail "sb-monitor decided $decision, not rollback: $(q '.[0].reason // ""' "$DEMO/8-verdicts.ndjson")"
say 8 monitor "rollback: $(q '.[0].reason | sub("^Rollback recommended: "; "") | sub("\\.$"; "")' "$DEMO/8-verdicts.ndjson") -> $WORK/8-verdicts.ndjson"
more "$(q '.[0].metrics | to_entries | map("\(.key) \(if .value.degradation_pct == null then "n/a" elif .value.degradation_pct > 0 then "+" else "" end)\(.value.degradation_pct // empty | "\(. * 10 | round / 10)%")\(if .value.degraded or .value.spread_degraded then " (degraded)" elif .value.degradation_pct < 0 then " (better)" else "" end)") | "per metric, against the hour before: " + join(", ")' \
	"$DEMO/8-verdicts.ndjson")"

# 9. Rolled back on the verdict: the pre-image put back, reloaded, healthy.
run 9-rollbacks.ndjson 0 env SB_NOW="$JUDGE_AT" sb-rollback 8-verdicts.ndjson
[ "$(q '.[0].status' "$DEMO/9-rollbacks.ndjson")" = rolled_back ] ||
	fail "sb-rollback did not roll back: $(q '.[0] | "\(.status): \(.reason)"' "$DEMO/9-rollbacks.ndjson")"
diff -r examples/demo-service "$DEMO/orders" >/dev/null ||
	fail "$WORK/orders differs from examples/demo-service after the rollback"
say 9 rollback "$(q '.[0] | "\(.status) \(.deployment): \(.restored | join(", ")) restored"' "$DEMO/9-rollbacks.ndjson"), $WORK/orders is examples/demo-service again -> $WORK/9-rollbacks.ndjson"
more "reload and health ran $(wc -l <"$DEMO/service.log" | tr -d ' ') times in all: $WORK/service.log"

# 10. The status of the system, and 11. the audit log, verified. These two
# tools may not be built in every tree: the demo says so and goes on.
echo
if [ -x bin/sb-status ]; then
	run 10-status.ndjson 0 env SB_NOW="$JUDGE_AT" sb-status --format json
	run 10-status.txt 0 env SB_NOW="$JUDGE_AT" sb-status --format table
	say 10 status "sb-status --format table (-> $WORK/10-status.txt, $WORK/10-status.ndjson):"
	sed '/./s/^/    /' "$DEMO/10-status.txt"
else
	say 10 status "sb-status --format table: unavailable (bin/sb-status is not built), step skipped"
fi
if [ -x bin/sb-audit ]; then
	run 11-audit.ndjson "0 1" sb-audit verify
	verdict=$(q 'map(select(.type == "audit_verify")) | .[0] // empty
		| if .ok then "ok, \(.entries) entries" else "broken at line \(.line): \(.error)" end' "$DEMO/11-audit.ndjson" 2>/dev/null) ||
		verdict=$(head -c 300 "$DEMO/11-audit.ndjson")
	say 11 audit "sb-audit verify: $verdict -> $WORK/11-audit.ndjson"
	case $verdict in ok*) ;; *) fail "the audit log does not verify" ;; esac
else
	say 11 audit "sb-audit verify: unavailable (bin/sb-audit is not built), step skipped"
fi

echo
echo "Every stage's records are in $WORK (1-telemetry.ndjson ... 11-audit.ndjson), the state"
echo "(journal, snapshots, audit log) in $WORK/state, the commands run in $WORK/commands.log."
echo "Replay a stage: SB_CONFIG=$WORK/config.json bin/sb-score $WORK/2-insights.ndjson"
