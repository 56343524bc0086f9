#!/usr/bin/env bats
# The offline demo, examples/demo.sh: run twice (the second time over the
# first's directory, with hostile SB_* variables in the environment), then
# each stage's records checked with jq, the component back to the sample
# service byte for byte, and the audit chain verified. The demo pins its
# clock with SB_NOW, so nothing here depends on today's date.

setup_file() {
	export DEMO=$BATS_FILE_TMPDIR/demo
	(
		demo_sh=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/examples/demo.sh
		export HOME=$BATS_FILE_TMPDIR LC_ALL=C
		for v in $(env | sed -n 's/^\(SB_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
		cd "$BATS_FILE_TMPDIR" || exit 1
		st=0
		SB_DEMO_DIR=$DEMO sh "$demo_sh" >run1.out 2>run1.err || st=$?
		echo $st >run1.status
		cp -R "$DEMO" first
		st=0
		# Everything a caller might have set that would change the story, were it read.
		SB_DEMO_DIR=$DEMO SB_NOW=garbage SB_CONFIG=/nonexistent SB_STATE_DIR=/nonexistent \
			SB_ANALYZE_WINDOW=3 SB_SCORE_MAX=0 SB_TENANT=other SB_GEN_PROVIDER=openai \
			SB_MONITOR_THRESHOLD=1000 SB_ON_ERROR=fail \
			sh "$demo_sh" >run2.out 2>run2.err || st=$?
		echo $st >run2.status
	)
}

setup() {
	load test_helper/common
	OUT=$BATS_FILE_TMPDIR
}

# recs FILE JQ: JQ over the records of stage file FILE of the demo, slurped, compact
recs() {
	jq -c -s "$2" "$DEMO/$1"
}

# rrecs FILE JQ: the same, raw
rrecs() {
	jq -r -s "$2" "$DEMO/$1"
}

# mask: the output of a run without what differs from run to run (deployment ids)
mask() {
	sed 's/dep-[0-9a-f]\{16\}/dep-ID/g' "$1"
}

@test "demo: runs twice, exit 0 both times, the same story each time" {
	assert_equal "$(cat "$OUT/run1.status")" 0
	assert_equal "$(cat "$OUT/run2.status")" 0
	run -0 cat "$OUT/run1.err"
	assert_output ''
	run -0 mask "$OUT/run1.out"
	for stage in '1 stream ' '2 analyze ' '3 score ' '4 gen ' '5 validate ' '6 deploy ' '7 observe ' \
		'8 monitor ' '9 rollback ' '10 status ' '11 audit '; do
		assert_line --partial "$stage"
	done
	run -0 diff <(mask "$OUT/run1.out") <(mask "$OUT/run2.out")
	# The second run started afresh: one deployment in its journal, not two.
	run -0 jq -s -r 'map(.deployment) | unique | length' "$DEMO/state/deployments.ndjson"
	assert_output 1
}

@test "demo: both runs made the same records, but for the deployment's id and timings" {
	for f in 1-telemetry 2-insights 3-opportunities 7-after-deploy; do
		run -0 cmp "$OUT/first/$f.ndjson" "$DEMO/$f.ndjson"
	done
	# But for the time sb-gen took.
	for f in 4-changes 5-validated; do
		run -0 diff <(jq -c 'del(.usage.duration_ms)' "$OUT/first/$f.ndjson") <(jq -c 'del(.usage.duration_ms)' "$DEMO/$f.ndjson")
	done
	# ... and a deployment of its own each time.
	run -0 jq -r .id "$OUT/first/6-deployments.ndjson" "$DEMO/6-deployments.ndjson"
	assert_equal "${#lines[@]}" 2
	[ "${lines[0]}" != "${lines[1]}" ]
}

@test "demo: the lines it prints" {
	run -0 mask "$OUT/run2.out"
	assert_line --regexp '^ 1 stream +1034 records \(720 metric, 314 log, [0-9]+ of them ERROR\)'
	assert_line --regexp '^ 2 analyze .* insights \(.*degradation.*error_pattern\)'
	assert_line --partial 'error_pattern (high) "could not get a database connection from the pool (timeout <*> ms)" x'
	assert_line --partial ' 4 gen       1 change by rule raise-db-pool (config.json: db.pool_size 10 -> 15)'
	assert_line --regexp '^ 5 validate  ok: [0-9]+ checks passed'
	assert_line --partial ' 6 deploy    deployed dep-ID (config.json: db.pool_size 10 -> 15)'
	assert_line --regexp '^ 8 monitor   rollback: latency_p95_ms mean rose [0-9.]+% \(.*Mann-Whitney p = '
	assert_line --regexp '^ 9 rollback  rolled_back dep-ID: config.json restored'
	assert_line --regexp '^11 audit     sb-audit verify: (ok, [0-9]+ entries|unavailable)'
}

@test "demo: telemetry of the incident, metrics and logs in time order" {
	run -0 rrecs 1-telemetry.ndjson '[(map(select(.type == "metric")) | length), (map(select(.type == "log")) | length)] | @tsv'
	assert_output $'720\t314'
	run -0 rrecs 1-telemetry.ndjson 'map(.ts | rtrimstr("Z")) | . == sort'
	assert_output true
	run -0 rrecs 1-telemetry.ndjson 'map([.component, .tenant] | join("/")) | unique | join(" ")'
	assert_output 'orders/demo'
	run -0 rrecs 1-telemetry.ndjson 'map(select(.type == "log") | .level) | unique | join(" ")'
	assert_output 'ERROR INFO WARN'
}

@test "demo: insights of the expected kinds, the pool's error pattern counted whole" {
	run -0 rrecs 2-insights.ndjson 'map(select(.type == "insight") | "\(.kind) \(.metric // .pattern)") | unique | .[]'
	assert_line 'degradation db_wait_ms'
	assert_line 'degradation latency_p95_ms'
	assert_line 'error_pattern could not get a database connection from the pool (timeout <*> ms)'
	errors=$(jq -s 'map(select(.type == "log" and .level == "ERROR")) | length' "$DEMO/1-telemetry.ndjson")
	[ "$errors" -gt 50 ]
	run -0 recs 2-insights.ndjson 'map(select(.kind == "error_pattern" and (.pattern | startswith("could not get a database"))))
		| .[0] | [.severity, .evidence.level, .evidence.count, .component, .tenant, (.evidence.stack_frame | test("/db\\.py:[0-9]+ in acquire$"))]'
	assert_output "[\"high\",\"ERROR\",$errors,\"orders\",\"demo\",true]"
	run -0 recs 2-insights.ndjson 'map(select(.kind == "degradation")) | map(.evidence.direction) | unique'
	assert_output '["lower_is_better"]'
}

@test "demo: the best opportunity is the pool's, for tenant demo, without approval" {
	run -0 recs 3-opportunities.ndjson 'map(select(.type == "opportunity")) | map(.rank) == [range(1; length + 1)]'
	assert_output true
	run -0 recs 3-opportunities.ndjson 'map(select(.rank == 1)) | .[0]
		| [.component, .tenant, .scope, .risk, .requires_approval, (.pattern | startswith("could not get a database connection"))]'
	assert_output '["orders","demo","tenant","medium",false,true]'
}

@test "demo: one change, to config.json, validated" {
	run -0 recs 4-changes.ndjson 'map(select(.type == "change")) | length'
	assert_output 1
	opp=$(rrecs 3-opportunities.ndjson 'map(select(.rank == 1)) | .[0].id')
	base=$(sha256sum "$SB_ROOT/examples/demo-service/config.json" | cut -d' ' -f1)
	run -0 recs 4-changes.ndjson '.[0] | [.opportunity, .component, .provider, .model,
		(.files | map([.path, .action, .base_sha256])), (.files[0].content | fromjson | .db.pool_size)]'
	assert_output "[\"$opp\",\"orders\",\"rules\",\"raise-db-pool\",[[\"config.json\",\"modify\",\"$base\"]],15]"
	run -0 recs 5-validated.ndjson '.[0] | [.id, .validation.ok, (.validation.checks | map(select(.ok == false)) | length), (.validation.digest | length)]'
	assert_output "[\"$(rrecs 4-changes.ndjson '.[0].id')\",true,0,64]"
	# Validation added its object and nothing else.
	run -0 diff <(jq -S 'del(.validation)' "$DEMO/5-validated.ndjson") <(jq -S . "$DEMO/4-changes.ndjson")
}

@test "demo: deployed at the pinned time, monitored for an hour" {
	run -0 recs 6-deployments.ndjson '.[0] | [.status, .change, .component, .started, .monitor_until, .files, .reload.ok, .health.ok]'
	assert_output "[\"deployed\",\"$(rrecs 4-changes.ndjson '.[0].id')\",\"orders\",\"2026-11-24T04:05:00Z\",\"2026-11-24T05:05:00Z\",[\"config.json\"],true,true]"
	run -0 rrecs 6-deployments.ndjson '.[0].id | test("^dep-[0-9a-f]{16}$")'
	assert_output true
	# The snapshot holds the original config.json.
	snap=$DEMO/state/$(rrecs 6-deployments.ndjson '.[0].snapshot')
	run -0 bash -c 'tar -xzOf "$1" config.json | cmp - "$2"' _ "$snap" "$SB_ROOT/examples/demo-service/config.json"
}

@test "demo: the hour after the deployment is worse, and the verdict is rollback" {
	run -0 recs 7-after-deploy.ndjson 'group_by(.metric) | map([.[0].metric, length, (map(.ts) | min), (map(.ts) | max)])'
	assert_output '[["db_wait_ms",60,"2026-11-24T04:05:30Z","2026-11-24T05:04:30Z"],["latency_p95_ms",60,"2026-11-24T04:05:30Z","2026-11-24T05:04:30Z"],["rps",60,"2026-11-24T04:05:30Z","2026-11-24T05:04:30Z"]]'
	dep=$(rrecs 6-deployments.ndjson '.[0].id')
	run -0 recs 8-verdicts.ndjson 'map(select(.type == "verdict")) | .[0]
		| [.deployment, .decision, .metrics.latency_p95_ms.degraded, .metrics.latency_p95_ms.degradation_pct > 10,
		   .metrics.latency_p95_ms.p_value < 0.01, .metrics.db_wait_ms.degraded, .baseline.from[0:16]]'
	assert_output "[\"$dep\",\"rollback\",true,true,true,false,\"2026-11-24T03:05\"]"
	run -0 recs 8-verdicts.ndjson 'map(.type) | unique'
	assert_output '["verdict"]'
}

@test "demo: rolled back, the component the sample service again, byte for byte" {
	dep=$(rrecs 6-deployments.ndjson '.[0].id')
	run -0 recs 9-rollbacks.ndjson '.[0] | [.deployment, .status, .restored, .reload.ok, .health.ok, .ts]'
	assert_output "[\"$dep\",\"rolled_back\",[\"config.json\"],true,true,\"2026-11-24T05:05:00Z\"]"
	run -0 diff -r "$SB_ROOT/examples/demo-service" "$DEMO/orders"
	run -0 jq -s -c --arg d "$dep" 'map(select(.deployment == $d)) | add | [.status, .phase]' "$DEMO/state/deployments.ndjson"
	assert_output '["rolled_back","rollback_done"]'
	# The service's own commands ran: reload and health at the deployment and at the rollback.
	run -0 grep -c "reload ($dep): settings ok: db.pool_size=15 " "$DEMO/service.log"
	assert_output 1
	run -0 grep -c "health ($dep): healthy, settings ok: db.pool_size=10 " "$DEMO/service.log"
	assert_output 1
}

@test "demo: the audit chain holds, and records the deployment and the rollback" {
	audit=$DEMO/state/audit.ndjson
	n=$(wc -l <"$audit")
	run -0 jq -s -c --arg d "$(rrecs 6-deployments.ndjson '.[0].id')" \
		'map(select(.deployment == $d) | .action) | map(select(. == "deploy.deployed" or . == "rollback"))' \
		"$audit"
	assert_output '["deploy.deployed","rollback"]'
	# Each entry's prev is the SHA-256 of the line before (64 zeros for the first).
	prev=0000000000000000000000000000000000000000000000000000000000000000
	while IFS= read -r line; do
		assert_equal "$(jq -r .prev <<<"$line")" "$prev"
		prev=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
	done <"$audit"
	if [ ! -x "$SB_ROOT/bin/sb-audit" ]; then
		skip "bin/sb-audit is not built"
	fi
	run -0 sb-audit --state-dir "$DEMO/state" verify
	run -0 jq -c '[.type, .ok, .entries]' <<<"$output"
	assert_output "[\"audit_verify\",true,$n]"
	run -0 jq -c '[.type, .ok, .entries]' "$DEMO/11-audit.ndjson"
	assert_output "[\"audit_verify\",true,$n]"
	# A line edited breaks the chain, and sb-audit says so.
	cp -R "$DEMO/state" tampered
	sed -i '1s/"deploy.deployed"/"deploy.skipped"/' tampered/audit.ndjson
	run -1 sb-audit --state-dir tampered verify
}

@test "demo: sb-status shows the component and its deployment, rolled back" {
	if [ ! -x "$SB_ROOT/bin/sb-status" ]; then
		skip "bin/sb-status is not built"
	fi
	dep=$(rrecs 6-deployments.ndjson '.[0].id')
	run -0 recs 10-status.ndjson 'map(select(.kind == "component")) | map([.component, .tenant, .last_deployment.deployment, .last_deployment.state, .deployments.total, .deployments.rolled_back])'
	assert_output "[[\"orders\",\"demo\",\"$dep\",\"rolled_back\",1,1]]"
	run -0 recs 10-status.ndjson 'map(select(.kind == "totals")) | .[0] | [.audit_entries, .deployments.monitoring]'
	assert_output "[$(wc -l <"$DEMO/state/audit.ndjson"),0]"
	run -0 grep -E "^orders +demo +$dep +rolled_back " "$DEMO/10-status.txt"
}

@test "demo: refuses to wipe a directory that is not its own" {
	mkdir mine
	echo precious >mine/file
	SB_DEMO_DIR=$PWD/mine run -1 sh "$SB_ROOT/examples/demo.sh"
	assert_output --partial 'is not empty and not the demo'"'"'s'
	run -0 cat mine/file
	assert_output precious
	run -0 ls -A mine
	assert_output file
}

@test "demo: a stage that does not go as the story says stops it, status 1, with why" {
	# A copy of the tree whose service is already at the playbook's bound: no change to make.
	mkdir root
	ln -s "$SB_ROOT/bin" root/bin
	cp -R "$SB_ROOT/examples" root/examples
	jq '.db.pool_size = 100' "$SB_ROOT/examples/demo-service/config.json" >root/examples/demo-service/config.json
	SB_DEMO_DIR=$PWD/d run -1 sh root/examples/demo.sh
	assert_output --partial 'sb demo: sb-gen made 0 changes for the best opportunity, not 1'
	assert_output --partial "sb demo: stopped (status 1); what there is so far is in $PWD/d"
	refute_output --partial ' 5 validate'
	# A tool that exits with a status the story does not expect: sb-monitor with a judge's
	# clock before the deployment's period has data cannot decide rollback.
	cp "$SB_ROOT/examples/demo-service/config.json" root/examples/demo-service/config.json
	sed -i 's/^JUDGE_AT=.*/JUDGE_AT=2026-11-24T04:06:00Z/' root/examples/demo.sh
	SB_DEMO_DIR=$PWD/d run -1 sh root/examples/demo.sh
	assert_output --partial 'sb demo: sb-monitor decided pending, not rollback'
	refute_output --partial ' 9 rollback'
}
