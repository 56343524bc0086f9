#!/usr/bin/env bats
# The tools' own counters in STATE/metrics/sb.prom (lib/selfmetrics.c): what
# each tool counts, runs adding up (in parallel too), other metrics kept as
# they were, --dry-run, the file's mode and atomic replacement, promtool's
# check, a corrupt file, a metrics directory that cannot be written.

setup() {
	load test_helper/common
	load helpers/deploy
	load helpers/fake-llm
	deploy_setup
	PROM=$SB_STATE_DIR/metrics/sb.prom
	umask 022
}

teardown() {
	stop_servers
}

# value 'NAME{LABELS}': that series' value in the file, or "absent"
value() {
	awk -v s="$1" '$1 == s { v = $2 } END { print (v == "" ? "absent" : v) }' "$PROM"
}

# metric NAME: the sample lines of metric NAME, as the file has them
metric() {
	grep -E "^$1[{ ]" "$PROM"
}

# an insight sb-score turns into one opportunity
insight() {
	echo '{"type":"insight","id":"i1","kind":"degradation","component":"shop","metric":"lat","severity":"high","evidence":{"change_pct":30}}'
}

# the two alarm events sb-analyze turns into two insights of kind alarm
alarms() {
	echo '{"type":"event","ts":"2026-11-24T02:00:00Z","event":"alarm","name":"Latency","state":"ALARM","previous":"OK","component":"shop","id":"e1"}'
	echo '{"type":"event","ts":"2026-11-24T02:05:00Z","event":"alarm","name":"Errors","state":"ALARM","previous":"OK","component":"shop","id":"e2"}'
}

# a deployment of shop in the journal, deployed at 10:00:05 and monitored until 11:00:05
journal_entry() {
	mkdir -p "$SB_STATE_DIR"
	printf '{"deployment":"dep-1","phase":"begin","component":"shop","change":"c1","target":"%s","started":"2026-11-25T10:00:00Z","ts":"2026-11-25T10:00:00Z"}\n' \
		"$PWD/shop" >>"$SB_STATE_DIR/deployments.ndjson"
	printf '{"deployment":"dep-1","phase":"done","status":"deployed","finished":"2026-11-25T10:00:05Z","monitor_until":"2026-11-25T11:00:05Z","ts":"2026-11-25T10:00:05Z"}\n' \
		>>"$SB_STATE_DIR/deployments.ndjson"
}

metrics_of() {
	local i
	for i in $(seq "$1"); do
		printf '{"type":"metric","ts":"2026-11-24T02:0%d:00Z","metric":"m","value":%d}\n' "$i" "$i"
	done
}

@test "sb-score: its rejected and quarantined lines, the whole file exactly; runs add up" {
	{ insight; echo 'not json'; echo '{"no":"type"}'; } >in.ndjson
	run -0 --separate-stderr sb-score --on-error quarantine=q.ndjson in.ndjson
	assert_equal "$(jq -r .type <<<"$output")" opportunity
	cat >expect <<'EOF'
# HELP sb_records_quarantined_total Rejected input lines a tool kept in the quarantine file of --on-error quarantine=FILE.
# TYPE sb_records_quarantined_total counter
sb_records_quarantined_total{tool="sb-score"} 2
# HELP sb_records_rejected_total Input lines a tool rejected (malformed, or breaking its rules), skipped or quarantined.
# TYPE sb_records_rejected_total counter
sb_records_rejected_total{tool="sb-score"} 2
EOF
	diff -u expect "$PROM"
	# Skipped (not quarantined) lines count as rejected only; a clean run adds zero.
	run -0 --separate-stderr sb-score in.ndjson
	insight >clean.ndjson
	run -0 --separate-stderr sb-score clean.ndjson
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-score"}')" 4
	assert_equal "$(value 'sb_records_quarantined_total{tool="sb-score"}')" 2
	# Another tool has series of its own.
	{ echo 'nope'; alarms; } | sb-analyze >/dev/null 2>&1
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-analyze"}')" 1
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-score"}')" 4
}

@test "sb-analyze counts the insights it writes by kind, every kind from zero; --summary writes none" {
	alarms >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(jq -r .kind <<<"$output" | paste -sd' ')" "alarm alarm"
	assert_equal "$(metric sb_insights_total)" 'sb_insights_total{kind="alarm"} 2
sb_insights_total{kind="anomaly"} 0
sb_insights_total{kind="completion"} 0
sb_insights_total{kind="degradation"} 0
sb_insights_total{kind="error_pattern"} 0
sb_insights_total{kind="trend"} 0'
	run -0 sb-analyze --summary in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(value 'sb_insights_total{kind="alarm"}')" 4
}

@test "sb-deploy counts each change by status (deployed, refused), sb-rollback each rollback" {
	standard_change >ch.ndjson
	run -0 sb-deploy --yes ch.ndjson
	dep=$(jq -r .id <<<"$output")
	# Not validated: refused.
	change_json c2 "$(create new.txt hello)" >raw.ndjson
	run -1 sb-deploy --yes raw.ndjson
	assert_equal "$(jq -r .status <<<"$output")" skipped
	assert_equal "$(metric sb_deployments_total)" 'sb_deployments_total{status="awaiting_approval"} 0
sb_deployments_total{status="deferred"} 0
sb_deployments_total{status="deployed"} 1
sb_deployments_total{status="failed"} 0
sb_deployments_total{status="planned"} 0
sb_deployments_total{status="rolled_back"} 0
sb_deployments_total{status="skipped"} 1'
	# Already deployed: skipped, not refused.
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(value 'sb_deployments_total{status="skipped"}')" 2
	run -0 sb-rollback "$dep"
	assert_equal "$(jq -r .status <<<"$output")" rolled_back
	run -0 sb-rollback "$dep"
	assert_equal "$(jq -r .status <<<"$output")" skipped
	assert_equal "$(metric sb_rollbacks_total)" 'sb_rollbacks_total{status="failed"} 0
sb_rollbacks_total{status="planned"} 0
sb_rollbacks_total{status="rolled_back"} 1
sb_rollbacks_total{status="skipped"} 1'
	# Without --yes, autonomous_improvements off: planned.
	standard_change c3 >ch3.ndjson
	run -0 sb-deploy ch3.ndjson
	assert_equal "$(jq -r .status <<<"$output")" planned
	assert_equal "$(value 'sb_deployments_total{status="planned"}')" 1
	assert_equal "$(value 'sb_deployments_total{status="deployed"}')" 1
}

@test "sb-monitor counts verdicts by decision" {
	journal_entry
	SB_NOW=2026-11-25T10:55:00Z run -0 sb-monitor </dev/null
	assert_equal "$(jq -r .decision <<<"$output")" pending
	SB_NOW=2026-11-25T11:30:00Z run -0 sb-monitor </dev/null
	assert_equal "$(jq -r .decision <<<"$output")" keep
	assert_equal "$(metric sb_verdicts_total)" 'sb_verdicts_total{decision="hold"} 0
sb_verdicts_total{decision="keep"} 1
sb_verdicts_total{decision="pending"} 1
sb_verdicts_total{decision="rollback"} 0'
}

@test "sb-stream counts records by source; breaker opens from closed and from half-open, not while open" {
	load helpers/servers
	metrics_of 3 >m.ndjson
	echo 'bad' >>m.ndjson
	run -0 --separate-stderr sb-stream m.ndjson
	assert_equal "${#lines[@]}" 3
	assert_equal "$(value 'sb_telemetry_records_total{source="file"}')" 3
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-stream"}')" 1
	# Nothing listens on the port: the first failed run opens the breaker.
	url=http://127.0.0.1:$(free_port)
	prom() { sb-stream prometheus --url "$url" --query up --breaker-failures 1 --breaker-cooldown 1s "$@"; }
	run -4 prom
	assert_equal "$(value 'sb_breaker_opens_total{breaker="prometheus"}')" 1
	assert_equal "$(value 'sb_telemetry_records_total{source="prometheus"}')" 0
	# While open no request is sent, and --fallback's records count as such.
	run -0 --separate-stderr prom --fallback m.ndjson
	assert_equal "${#lines[@]}" 3
	assert_equal "$(value 'sb_telemetry_records_total{source="fallback"}')" 3
	assert_equal "$(value 'sb_breaker_opens_total{breaker="prometheus"}')" 1
	# The cooldown over, the probe fails: open again.
	sleep 1.1
	run -4 prom
	assert_equal "$(value 'sb_breaker_opens_total{breaker="prometheus"}')" 2
	assert_equal "$(value 'sb_telemetry_records_total{source="file"}')" 3
}

@test "sb-gen counts requests (a second ask included), successes, tokens and seconds by provider" {
	fake_llm_need
	edit='config.json\n<<<<<<< SEARCH\n    \"timeout_ms\": 2000,\n=======\n    \"timeout_ms\": 3000,\n>>>>>>> REPLACE\n'
	absent='config.json\n<<<<<<< SEARCH\n    \"timeout_ms\": 9999,\n=======\n    \"timeout_ms\": 3000,\n>>>>>>> REPLACE\n'
	fake_llm_start "{\"answers\":[{\"text\":\"$absent\",\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":40}},
		{\"text\":\"$edit\",\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":30}}]}"
	echo '{"type":"opportunity","id":"o1","title":"Fix timeouts","component":"shop","pattern":"Timeout calling pricing after <*> ms","kinds":["error_pattern"],"severity":"high","scope":"tenant","risk":"medium"}' >opp.ndjson
	# A fraction already there: the sum is written in the fewest digits that read back the same.
	mkdir -p "$SB_STATE_DIR/metrics"
	printf 'sb_generation_duration_seconds_total{provider="openai"} 0.1\n' >"$PROM"
	run -0 --separate-stderr sb-gen --provider openai --model m --url "$FAKE_LLM_URL/v1" opp.ndjson
	assert_equal "$(jq -r .usage.attempts <<<"$output")" 2
	ms=$(jq -r .usage.duration_ms <<<"$output")
	assert_equal "$(value 'sb_generation_requests_total{provider="openai"}')" 2
	assert_equal "$(value 'sb_generation_successes_total{provider="openai"}')" 1
	assert_equal "$(value 'sb_generation_tokens_total{kind="prompt",provider="openai"}')" 1900
	assert_equal "$(value 'sb_generation_tokens_total{kind="completion",provider="openai"}')" 70
	assert_equal "$(value 'sb_generation_duration_seconds_total{provider="openai"}')" "$(jq -n "0.1 + $ms / 1000")"
	# Failed: a request and no success.
	fake_llm_script '{"answers":[{"status":400}]}'
	run -4 --separate-stderr sb-gen --provider openai --model m --url "$FAKE_LLM_URL/v1" opp.ndjson
	assert_equal "$(value 'sb_generation_requests_total{provider="openai"}')" 3
	assert_equal "$(value 'sb_generation_successes_total{provider="openai"}')" 1
	# The rules provider: one request a job.
	run -0 --separate-stderr sb-gen opp.ndjson
	assert_equal "$(value 'sb_generation_requests_total{provider="rules"}')" 1
	assert_equal "$(value 'sb_generation_successes_total{provider="rules"}')" 1
	assert_equal "$(value 'sb_generation_tokens_total{kind="prompt",provider="rules"}')" 0
}

@test "counters of other metrics are kept as they were; labels match in any order; integers without exponent" {
	mkdir -p "$SB_STATE_DIR/metrics"
	cat >"$PROM" <<'EOF'
# HELP sb_cycles_total Improvement cycles by outcome
# TYPE sb_cycles_total counter
sb_cycles_total{outcome="completed"} 3
sb_cycles_total{outcome="started"} 4
# a comment
# HELP x_latency_seconds A histogram someone keeps here: its buckets keep their order.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{le="0.1"} 1
x_latency_seconds_bucket{le="+Inf"} 2
x_latency_seconds_sum 0.3
x_latency_seconds_count 2
# HELP node_room_temperature_celsius A gauge.
# TYPE node_room_temperature_celsius gauge
node_room_temperature_celsius{room="b",building="a"} 21.5
# HELP sb_records_rejected_total old help
# TYPE sb_records_rejected_total counter
sb_records_rejected_total{tool="sb-analyze"} 1e3
sb_records_rejected_total{tool="sb-score"} 1e+06
sb_generation_tokens_total{provider="rules",kind="prompt"} 7
EOF
	printf 'bad\n' >bad.ndjson
	run -0 --separate-stderr sb-score bad.ndjson
	run -0 --separate-stderr sb-gen </dev/null
	cat >expect <<'EOF'
# HELP node_room_temperature_celsius A gauge.
# TYPE node_room_temperature_celsius gauge
node_room_temperature_celsius{room="b",building="a"} 21.5
# HELP sb_cycles_total Improvement cycles by outcome
# TYPE sb_cycles_total counter
sb_cycles_total{outcome="completed"} 3
sb_cycles_total{outcome="started"} 4
# HELP sb_generation_duration_seconds_total Seconds sb-gen spent on jobs, from a job's first request to its change or failure.
# TYPE sb_generation_duration_seconds_total counter
sb_generation_duration_seconds_total{provider="rules"} 0
# HELP sb_generation_requests_total Requests sb-gen sent to a provider: each attempt for a language model, one a job for rules.
# TYPE sb_generation_requests_total counter
sb_generation_requests_total{provider="rules"} 0
# HELP sb_generation_successes_total Changes sb-gen generated.
# TYPE sb_generation_successes_total counter
sb_generation_successes_total{provider="rules"} 0
# HELP sb_generation_tokens_total Tokens the language model reported, by prompt and completion.
# TYPE sb_generation_tokens_total counter
sb_generation_tokens_total{kind="completion",provider="rules"} 0
sb_generation_tokens_total{kind="prompt",provider="rules"} 7
# HELP sb_records_quarantined_total Rejected input lines a tool kept in the quarantine file of --on-error quarantine=FILE.
# TYPE sb_records_quarantined_total counter
sb_records_quarantined_total{tool="sb-gen"} 0
sb_records_quarantined_total{tool="sb-score"} 0
# HELP sb_records_rejected_total Input lines a tool rejected (malformed, or breaking its rules), skipped or quarantined.
# TYPE sb_records_rejected_total counter
sb_records_rejected_total{tool="sb-analyze"} 1e3
sb_records_rejected_total{tool="sb-gen"} 0
sb_records_rejected_total{tool="sb-score"} 1000001
# HELP x_latency_seconds A histogram someone keeps here: its buckets keep their order.
# TYPE x_latency_seconds histogram
x_latency_seconds_bucket{le="0.1"} 1
x_latency_seconds_bucket{le="+Inf"} 2
x_latency_seconds_sum 0.3
x_latency_seconds_count 2
EOF
	diff -u expect "$PROM"
}

@test "concurrent runs lose no increment" {
	printf 'bad\nbad\nbad\n' >bad.ndjson
	for i in $(seq 16); do
		sb-score bad.ndjson 2>/dev/null 3>&- &
	done
	wait
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-score"}')" 48
}

@test "--dry-run adds nothing: sb-stream, sb-deploy, sb-monitor, sb-rollback" {
	# Each run below has a malformed line, which would count.
	standard_change >ch.ndjson
	echo 'bad' >>ch.ndjson
	rm -r "$SB_STATE_DIR/metrics" # sb-validate's
	run -0 --separate-stderr sb-deploy --yes --dry-run ch.ndjson
	{ metrics_of 2; echo bad; } >m.ndjson
	run -0 --separate-stderr sb-stream --dry-run m.ndjson
	[ ! -e "$SB_STATE_DIR/metrics" ]
	run -0 --separate-stderr sb-deploy --yes ch.ndjson
	dep=$(jq -r .id <<<"$output")
	cp "$PROM" before
	run -0 --separate-stderr sb-deploy --yes --dry-run ch.ndjson
	echo bad >bad.ndjson
	run -0 --separate-stderr sb-monitor --dry-run bad.ndjson
	assert_equal "$(jq -r .decision <<<"$output")" pending
	run -0 --separate-stderr sb-rollback --dry-run "$dep"
	assert_equal "$(jq -r .status <<<"$output")" planned
	run -0 --separate-stderr sb-stream --dry-run m.ndjson
	cmp before "$PROM"
	run -0 --separate-stderr sb-stream m.ndjson
	assert_equal "$(value 'sb_telemetry_records_total{source="file"}')" 2
}

@test "the file is mode 0644 and replaced by rename, with no temporary file left" {
	printf 'bad\n' >bad.ndjson
	run -0 --separate-stderr sb-score bad.ndjson
	assert_equal "$(stat -c %a "$PROM")" 644
	inode=$(stat -c %i "$PROM")
	run -0 --separate-stderr sb-score bad.ndjson
	[ "$(stat -c %i "$PROM")" != "$inode" ]
	assert_equal "$(stat -c %a "$PROM")" 644
	assert_equal "$(ls -A "$SB_STATE_DIR/metrics" | paste -sd' ')" "sb.prom sb.prom.lock"
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-score"}')" 2
}

@test "promtool check metrics passes on what every tool writes" {
	command -v promtool >/dev/null || skip "promtool is not installed (Debian's prometheus package)"
	insight | sb-score >/dev/null
	alarms | sb-analyze >/dev/null
	standard_change >ch.ndjson
	sb-gen </dev/null >/dev/null
	dep=$(sb-deploy --yes ch.ndjson | jq -r .id)
	sb-rollback "$dep" >/dev/null
	SB_NOW=2026-11-25T10:55:00Z sb-monitor </dev/null >/dev/null
	metrics_of 2 | sb-stream >/dev/null
	run -4 sb-stream prometheus --url "http://127.0.0.1:1" --query up --breaker-failures 1
	run -0 promtool check metrics <"$PROM"
	assert_output ""
	# And the check can fail: a counter without _total is linted.
	echo 'sb_bad 1' >>"$PROM"
	run ! promtool check metrics <"$PROM"
}

@test "a corrupt file is reported and rewritten from the run's counters" {
	mkdir -p "$SB_STATE_DIR/metrics"
	printf 'sb_cycles_total{outcome="started"} 4\nthis is { not a metrics file\n' >"$PROM"
	printf 'bad\n' >bad.ndjson
	run -0 --separate-stderr sb-score bad.ndjson
	assert_regex "$stderr" "sb-score: $PROM:2: .*: not a metrics file; rewritten from this run's counters"
	assert_equal "$(grep -v '^#' "$PROM")" 'sb_records_quarantined_total{tool="sb-score"} 0
sb_records_rejected_total{tool="sb-score"} 1'
	# Two lines for one series are corrupt too.
	printf 'a_total 1\na_total 2\n' >"$PROM"
	run -0 --separate-stderr sb-score bad.ndjson
	assert_regex "$stderr" "$PROM:2: a second line for the same series"
	assert_equal "$(value a_total)" absent
	assert_equal "$(value 'sb_records_rejected_total{tool="sb-score"}')" 1
}

@test "metrics that cannot be written: a warning, and the tool's own output and exit status" {
	mkdir -p "$SB_STATE_DIR"
	touch "$SB_STATE_DIR/metrics"
	change_json c2 "$(create new.txt hello)" >raw.ndjson
	run -1 --separate-stderr sb-deploy --yes raw.ndjson
	assert_equal "$(jq -r .status <<<"$output")" skipped
	assert_regex "$stderr" "sb-deploy: cannot write metrics: cannot create '$SB_STATE_DIR/metrics': Not a directory"
	insight >in.ndjson
	run -0 --separate-stderr sb-score in.ndjson
	assert_equal "$(jq -r .type <<<"$output")" opportunity
	assert_regex "$stderr" "sb-score: cannot write metrics"
	# A state directory that is a file: sb-score, which keeps no other state, still ends well.
	touch statefile
	SB_STATE_DIR=$PWD/statefile run -0 --separate-stderr sb-score in.ndjson
	assert_equal "$(jq -r .type <<<"$output")" opportunity
	assert_regex "$stderr" "sb-score: cannot write metrics: cannot create '$PWD/statefile/metrics'"
}
