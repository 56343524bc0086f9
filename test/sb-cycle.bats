#!/usr/bin/env bats
# sb-cycle on the sample component of test/helpers/deploy.bash: a whole
# cycle from a log file to a deployment, the cycle folder, the global lock,
# a failing stage, --jobs, SIGTERM, and emergency cycles started by alarms.

setup() {
	load test_helper/common
	load helpers/deploy
	deploy_setup
	NOW=$(date -u +%s)
}


cycle_dirs() {
	find "$SB_STATE_DIR/cycles" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort
}

cycle_json() {
	jq -c "$1" "$(cycle_dirs | tail -1)/cycle.json"
}

@test "one cycle: telemetry to deployment, every stage's records and messages kept, counts in cycle.json" {
	pool_errors >logs.ndjson
	run -0 --separate-stderr sb-cycle --yes logs.ndjson
	assert_equal "$(jq -c '[.type, .component, .status, .files]' <<<"$output")" '["deployment","shop","deployed",["config.json"]]'
	assert_equal "$(jq -c .db.pool_size shop/config.json)" 15
	assert_equal "$(cycle_dirs | wc -l)" 1
	dir=$(cycle_dirs)
	assert_regex "$stderr" "cycle [0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9a-f]{6}: $dir"
	assert_equal "$(cd "$dir" && ls | paste -sd' ')" \
		"1-stream.err 1-stream.ndjson 2-analyze.err 2-analyze.ndjson 3-score.err 3-score.ndjson 4-gen.err 4-gen.ndjson 5-validate.err 5-validate.ndjson 6-deploy.err 6-deploy.ndjson cycle.json"
	assert_equal "$(cycle_json '[.status, .exit, .window, .max, .jobs]')" '["completed",0,1,3,1]'
	assert_equal "$(cycle_json '[.stages[] | [.name, .records_in, .records_out, .exit]]')" \
		'[["stream",0,60,0],["analyze",60,1,0],["score",1,1,0],["gen",1,1,0],["validate",1,1,0],["deploy",1,1,0]]'
	assert_equal "$(jq -r .type "$dir/2-analyze.ndjson")" insight
	assert_equal "$(jq -r .validation.ok "$dir/5-validate.ndjson")" true
	# start and end are times, in order.
	assert_equal "$(cycle_json '(.start < .end) and ([.stages[] | .start <= .end] | all)')" true
	# The cycle is counted in the self-metrics.
	assert_equal "$(grep '^sb_cycles_total' "$SB_STATE_DIR/metrics/sb.prom")" \
		$'sb_cycles_total{outcome="completed"} 1\nsb_cycles_total{outcome="failed"} 0\nsb_cycles_total{outcome="started"} 1'
}

@test "without --yes and with autonomous improvements off, the change is planned; --max and --window" {
	{ pool_errors shop; pool_errors billing 7200; } >logs.ndjson
	deploy_config "{\"components\": {\"billing\": {\"path\": \"$PWD/shop\"}}}"
	run -0 --separate-stderr sb-cycle logs.ndjson
	assert_equal "$(jq -c '[.component, .status]' <<<"$output")" '["shop","planned"]'
	# billing's errors are two hours old: outside the one-hour window, inside a three-hour one.
	assert_equal "$(cycle_json '.stages[0].records_out')" 60
	run -0 --separate-stderr sb-cycle --window 3 --max 1 logs.ndjson
	assert_equal "$(cycle_json '[.stages[0].records_out, .stages[2].records_out, .max]')" '[120,1,1]'
	# --window 0: all of it.
	run -0 --separate-stderr sb-cycle --window 0 logs.ndjson
	assert_equal "$(cycle_json '.stages[0].records_out')" 120
}

@test "the sources of the configuration, or --source" {
	pool_errors >logs.ndjson
	deploy_config "{\"cycle\": {\"sources\": [[\"$PWD/logs.ndjson\"], [\"--type\", \"log\", \"$PWD/logs.ndjson\"]]}}"
	run -0 --separate-stderr sb-cycle
	assert_equal "$(cycle_json '.stages[0].records_out')" 120
	run -0 --separate-stderr sb-cycle --source "$PWD/logs.ndjson"
	assert_equal "$(cycle_json '.stages[0].records_out')" 60
	# No source at all: said, and an empty cycle.
	deploy_config '{}'
	run -0 --separate-stderr sb-cycle
	assert_regex "$stderr" "no telemetry source"
	assert_equal "$(cycle_json '[.status, .stages[0].records_out]')" '["completed",0]'
}

@test "telemetry on standard input with -; --on-error fail stops the cycle at the first malformed line" {
	pool_errors >logs.ndjson
	run -0 --separate-stderr bash -c 'sb-cycle --yes - <logs.ndjson'
	assert_equal "$(cycle_json '.stages[0].records_out')" 60
	{ pool_errors; echo '{bad'; } >bad.ndjson
	run -3 --separate-stderr bash -c 'sb-cycle --on-error fail - <bad.ndjson'
	assert_equal "$(cycle_json '[.status, .exit, [.stages[] | .name]]')" '["failed",3,["stream"]]'
	assert_regex "$(cat "$(cycle_dirs | tail -1)/1-stream.err")" '<stdin>:61: '
}

@test "a second cycle while one runs exits 0 at once and starts nothing" {
	pool_errors >logs.ndjson
	mkdir -p "$SB_STATE_DIR/locks/cycles"
	flock "$SB_STATE_DIR/locks/cycles/all.lock" sleep 3 3>&- &
	holder=$!
	sleep 0.3
	t0=$EPOCHREALTIME
	run -0 --separate-stderr sb-cycle --yes logs.ndjson
	elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a < 1) }')
	kill "$holder" 2>/dev/null || true
	assert_equal "$stderr" "sb-cycle: another cycle is running; nothing to do"
	assert_output ''
	assert_equal "$(cycle_dirs | wc -l)" 0
	assert_equal "$elapsed" 1
}

@test "a failing stage stops the cycle with its status and keeps what came before" {
	port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 10000) }')
	run -4 --separate-stderr sb-cycle --source "prometheus --url http://127.0.0.1:$port --query up --timeout 2s"
	assert_regex "$stderr" "stage stream failed with exit status 4: see .*/1-stream.err"
	assert_equal "$(cycle_json '[.status, .exit, [.stages[] | .name], .stages[0].exit]')" '["failed",4,["stream"],4]'
	dir=$(cycle_dirs)
	assert_regex "$(cat "$dir/1-stream.err")" "127.0.0.1:$port"
	# A stage's exit 1 (a documented negative outcome) does not stop the cycle.
	pool_errors >logs.ndjson
	touch ctl/unhealthy
	run -0 --separate-stderr sb-cycle --yes logs.ndjson
	assert_equal "$(jq -r .status <<<"$output")" rolled_back
	assert_equal "$(cycle_json '[.status, [.stages[] | .exit]]')" '["completed",[0,0,0,0,0,1]]'
}

@test "--jobs 2: generation and validation of several opportunities at once, output in order" {
	cp -r shop billing
	cp -r shop cart
	deploy_config "{\"components\": {\"billing\": {\"path\": \"$PWD/billing\", \"reload\": null, \"health\": null},
		\"cart\": {\"path\": \"$PWD/cart\", \"reload\": null, \"health\": null}}}"
	{ pool_errors shop; pool_errors billing; pool_errors cart; } >logs.ndjson
	run -0 --separate-stderr sb-cycle --yes --jobs 2 logs.ndjson
	assert_equal "$(jq -r '[.component, .status] | join(" ")' <<<"$output" | sort | paste -sd,)" \
		"billing deployed,cart deployed,shop deployed"
	assert_equal "$(cycle_json '[.jobs, .stages[4].records_in, .stages[4].records_out]')" '[2,3,3]'
	# The parts are joined in order and removed.
	dir=$(cycle_dirs)
	assert_equal "$(ls "$dir" | grep -c part)" 0
	assert_equal "$(jq -r .component "$dir/5-validate.ndjson" | paste -sd' ')" \
		"$(jq -r 'select(.type == "change") | .component' "$dir/4-gen.ndjson" | paste -sd' ')"
}

@test "SIGTERM stops the running stage; the cycle folder says interrupted; the next run recovers the deployment" {
	pool_errors >logs.ndjson
	tree_sum shop >before
	echo 10 >ctl/health-sleep
	sb-cycle --yes logs.ndjson >out 2>err 3>&- &
	pid=$!
	for _ in $(seq 100); do [ -s ctl/health ] && break; sleep 0.05; done
	kill -TERM $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 143
	assert_equal "$(cycle_json '[.status, .exit, .stages[-1].name, .stages[-1].exit]')" '["interrupted",143,"deploy",143]'
	assert_equal "$(cycle_json '.end != null')" true
	rm ctl/health-sleep
	# The deployment was cut short: the next run puts the old version back.
	run -0 --separate-stderr sb-deploy </dev/null
	assert_regex "$stderr" "recovered interrupted deployment"
	assert_equal "$(tree_sum shop)" "$(cat before)"
}

@test "--emergency: an alarm starts a cycle for its component at once; one more is queued during it, no more" {
	pool_errors >logs.ndjson
	deploy_config "{\"cycle\": {\"sources\": [[\"$PWD/logs.ndjson\"]]}}"
	echo 1 >ctl/health-sleep
	alarm() {
		printf '{"type":"event","event":"alarm","name":"%s","state":"%s","previous":"%s","component":"%s","id":"%s"}\n' \
			"$1" "$2" "$3" "$4" "$5"
	}
	{
		alarm HighLatency ALARM OK shop a1
		alarm HighLatency ALARM OK shop a2
		alarm HighLatency ALARM OK shop a3
		alarm HighLatency OK ALARM shop a4
		alarm Other ALARM OK nowhere a5
		alarm Still ALARM ALARM shop a6
	} >events.ndjson
	run -0 --separate-stderr sb-cycle --emergency --yes events.ndjson
	assert_regex "$stderr" "alarm nowhere names no configured component; ignored"
	assert_equal "$(cycle_dirs | wc -l)" 2
	assert_equal "$(for d in $(cycle_dirs); do jq -r '[.component, .trigger.event.id, .status] | join(" ")' "$d/cycle.json"; done | paste -sd,)" \
		"shop a1 completed,shop a2 completed"
	# One after the other: the second worked on what the first had deployed (the errors go on in the logs).
	assert_equal "$(for d in $(cycle_dirs); do jq -r .status "$d/6-deploy.ndjson"; done | paste -sd' ')" "deployed deployed"
	assert_equal "$(jq -c .db.pool_size shop/config.json)" 23
	first_end=$(jq -r .end "$(cycle_dirs | head -1)/cycle.json") second_start=$(jq -r .start "$(cycle_dirs | tail -1)/cycle.json")
	[[ $first_end < $second_start ]]
}

@test "usage errors exit 2" {
	run -2 sb-cycle --jobs 0
	run -2 sb-cycle --window -1
	run -2 sb-cycle --component ../etc
	run -2 sb-cycle --max x
	SB_NOW=never run -2 sb-cycle
	run -0 sb-cycle --help
	assert_output --partial "--emergency"
}
