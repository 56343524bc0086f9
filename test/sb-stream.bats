#!/usr/bin/env bats
# sb-stream, file source: contract checks, formats, follow, checkpoints,
# de-duplication, tenants, sampling. (The prometheus source: sb-stream-prometheus.bats.)

setup() {
	load test_helper/common
	export SB_STATE_DIR="$BATS_TEST_TMPDIR/state"
}

teardown() {
	[ -z "${follower:-}" ] || kill "$follower" 2>/dev/null || true
}

# wait_for FILE N [SECONDS]: until FILE has N lines (5 s at most unless told)
wait_for() {
	for _ in $(seq 1 $((${3:-5} * 20))); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $2 lines in $1: $(cat "$1")" >&2
	return 1
}

logline() { # logline N: a log record with message mN
	printf '{"type":"log","ts":"2026-11-24T02:00:%02dZ","level":"INFO","message":"m%s"}\n' "$1" "$1"
}

@test "NDJSON records are normalised: epoch ts to RFC 3339, log levels upper-case" {
	printf '%s\n' '{"type":"metric","ts":1795485600,"metric":"rps","value":3}' \
		'{"type":"log","ts":"2026-11-24T03:00:00+01:00","level":"warning","message":"x"}' \
		'{"type":"log","ts":"2026-11-24T02:00:00Z","message":"no level"}' >in.ndjson
	run -0 sb-stream in.ndjson
	assert_line --index 0 '{"type":"metric","ts":"2026-11-24T02:00:00Z","metric":"rps","value":3}'
	assert_line --index 1 '{"type":"log","ts":"2026-11-24T02:00:00Z","level":"WARN","message":"x"}'
	assert_line --index 2 '{"type":"log","ts":"2026-11-24T02:00:00Z","message":"no level","level":"INFO"}'
}

@test "records that need no change are written byte for byte" {
	printf '%s\n' '{"type":"metric", "ts":"2026-11-24T02:00:00Z","metric":"rps","value":1.50}' >in.ndjson
	run -0 sb-stream in.ndjson
	assert_output "$(cat in.ndjson)"
}

@test "a metric without numeric value or ts, a bad ts, a bad level are malformed" {
	printf '%s\n' '{"type":"metric","ts":1,"metric":"m","value":"3"}' '{"type":"metric","metric":"m","value":3}' \
		'{"type":"log","ts":"yesterday","message":"x"}' '{"type":"log","level":"loud","message":"x"}' \
		'{"metric":"m","value":1,"ts":1}' >in.ndjson
	run -0 --separate-stderr sb-stream in.ndjson
	assert_output ""
	assert_equal "${stderr_lines[0]}" 'sb-stream: in.ndjson:1: metric has no numeric "value"'
	assert_equal "${stderr_lines[1]}" 'sb-stream: in.ndjson:2: metric has no "ts"'
	assert_equal "${stderr_lines[2]}" 'sb-stream: in.ndjson:3: "ts" is not an RFC 3339 time or epoch seconds'
	assert_equal "${stderr_lines[3]}" "sb-stream: in.ndjson:4: log \"level\" 'loud' is not DEBUG, INFO, WARN, ERROR or FATAL"
	assert_equal "${stderr_lines[4]}" 'sb-stream: in.ndjson:5: record has no "type" string (see --type)'
	run -3 sb-stream --on-error fail in.ndjson
}

@test "--type gives a type to records without one" {
	echo '{"metric":"m","value":1,"ts":"2026-11-24T02:00:00Z"}' >in.ndjson
	run -0 sb-stream --type metric in.ndjson
	assert_output '{"type":"metric","metric":"m","value":1,"ts":"2026-11-24T02:00:00Z"}'
	run -2 sb-stream --type trace in.ndjson
}

@test "--format syslog, combined, json and alertmanager turn lines into records" {
	echo '<11>1 2026-11-24T02:00:00Z web01 checkout 4242 - - payment failed' >sys.log
	run -0 sb-stream --format syslog sys.log
	assert_equal "$(jq -c '[.type,.ts,.level,.message,.component]' <<<"$output")" '["log","2026-11-24T02:00:00Z","ERROR","payment failed","checkout"]'
	echo '10.0.0.1 - - [24/Nov/2026:02:00:00 +0000] "GET /cart HTTP/1.1" 502 12 "-" "curl/8"' >access.log
	run -0 sb-stream --format combined access.log
	assert_equal "$(jq -c '[.level,.message,.fields.status]' <<<"$output")" '["ERROR","GET /cart 502",502]'
	echo '{"time":"2026-11-24T02:00:00Z","severity":"warn","msg":"slow","user":"u1"}' >app.log
	run -0 sb-stream --format json app.log
	assert_equal "$(jq -c '[.level,.message,.fields.user]' <<<"$output")" '["WARN","slow","u1"]'
	echo '{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighLatency","service":"checkout","severity":"critical"},"annotations":{},"startsAt":"2026-11-24T02:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"abc"}]}' >am.ndjson
	run -0 sb-stream --format alertmanager am.ndjson
	assert_equal "$(jq -c '[.type,.event,.name,.state,.previous,.component]' <<<"$output")" '["event","alarm","HighLatency","ALARM","OK","checkout"]'
}

@test "lines a format cannot read follow --on-error, in every format" {
	for f in syslog combined json alertmanager; do
		echo 'this is not it' >bad.log
		run -0 --separate-stderr sb-stream --format "$f" bad.log
		assert_output ""
		assert_regex "${stderr_lines[0]}" '^sb-stream: bad.log:1: '
		run -3 sb-stream --format "$f" --on-error fail bad.log
	done
	run -2 sb-stream --format xml bad.log
}

@test "--format-jq turns each raw line into a record" {
	printf '2026-11-24T02:00:00Z error disk full\nnot matching\n' >app.log
	run -0 --separate-stderr sb-stream --format-jq 'capture("(?<ts>\\S+) (?<level>\\w+) (?<message>.*)")' app.log
	assert_output '{"type":"log","ts":"2026-11-24T02:00:00Z","level":"ERROR","message":"disk full"}'
	assert_equal "${stderr_lines[0]}" 'sb-stream: app.log:2: --format-jq yielded nothing'
	run -0 --separate-stderr sb-stream --format-jq '1' app.log
	assert_equal "${stderr_lines[0]}" 'sb-stream: app.log:1: --format-jq did not yield an object'
	run -0 --separate-stderr sb-stream --format-jq 'error("nope")' app.log
	assert_equal "${stderr_lines[0]}" 'sb-stream: app.log:1: --format-jq: nope'
	run -2 --separate-stderr sb-stream --format-jq '{' app.log
	assert_regex "$stderr" '^sb-stream: --format-jq: syntax error'
}

@test "--map renames fields before the record is checked" {
	echo '{"type":"log","time":1795485600,"lvl":"error","text":"x","ctx":{"tenant":"acme"}}' >in.ndjson
	run -0 sb-stream --map ts=.time,level=.lvl --map message=.text,tenant=.ctx.tenant in.ndjson
	assert_output '{"type":"log","ctx":{},"ts":"2026-11-24T02:00:00Z","level":"ERROR","message":"x","tenant":"acme"}'
	run -2 sb-stream --map nonsense in.ndjson
}

@test "--since and --until keep records in [since, until); records without ts pass" {
	for i in 1 2 3 4; do logline "$i"; done >in.ndjson
	echo '{"type":"event","event":"deploy","name":"x"}' >>in.ndjson
	run -0 sb-stream --since 2026-11-24T02:00:02Z --until 2026-11-24T02:00:04Z in.ndjson
	assert_equal "$(jq -r '.message // .event' <<<"$output" | tr '\n' ' ')" "m2 m3 deploy "
	run -0 sb-stream --since 1h in.ndjson
	assert_output '{"type":"event","event":"deploy","name":"x"}'
	run -2 sb-stream --since soon in.ndjson
}

@test "checkpoint: append, run, append, rotate, append, run: every line once, in order" {
	logline 1 >app.log
	logline 2 >>app.log
	sb-stream --checkpoint app app.log >out.ndjson
	logline 3 >>app.log
	sb-stream --checkpoint app app.log >>out.ndjson
	logline 4 >>app.log
	mv app.log app.log.1
	logline 5 >>app.log.1
	logline 6 >app.log
	sb-stream --checkpoint app app.log >>out.ndjson
	logline 7 >>app.log
	sb-stream --checkpoint app app.log >>out.ndjson
	sb-stream --checkpoint app app.log >>out.ndjson
	assert_equal "$(jq -r .message out.ndjson | tr '\n' ' ')" "m1 m2 m3 m4 m5 m6 m7 "
	run jq -c '.files | to_entries[0] | [(.key | endswith("/app.log")), .value.offset, .value.last_len]' "$SB_STATE_DIR/cursors/app.json"
	assert_output "[true,$(wc -c <app.log),$(logline 7 | wc -c)]"
}

@test "checkpoint: a rotated file found by inode under another name" {
	logline 1 >app.log
	sb-stream --checkpoint c app.log >out.ndjson
	logline 2 >>app.log
	mv app.log app.log-20261124
	logline 3 >app.log
	sb-stream --checkpoint c app.log >>out.ndjson
	assert_equal "$(jq -r .message out.ndjson | tr '\n' ' ')" "m1 m2 m3 "
}

@test "checkpoint: a truncated or rewritten file is read again from the start, with a warning" {
	logline 1 >app.log
	logline 2 >>app.log
	sb-stream --checkpoint c app.log >/dev/null
	logline 3 >app.log
	run -0 --separate-stderr sb-stream --checkpoint c app.log
	assert_output "$(logline 3)"
	assert_equal "$stderr" "sb-stream: app.log: truncated or rewritten since the last run: reading it from the start"
	logline 1 >b.log
	sb-stream --checkpoint d b.log >/dev/null
	logline 9 >b.log # same length, other content
	run -0 --separate-stderr sb-stream --checkpoint d b.log
	assert_output "$(logline 9)"
}

@test "checkpoint: an unterminated last line waits for the next run" {
	logline 1 >app.log
	printf '%s' "$(logline 2)" >>app.log
	run -0 sb-stream --checkpoint c app.log
	assert_output "$(logline 1)"
	echo >>app.log
	run -0 sb-stream --checkpoint c app.log
	assert_output "$(logline 2)"
}

@test "--dry-run writes no checkpoint" {
	logline 1 >app.log
	run -0 sb-stream --dry-run --checkpoint c app.log
	assert_output "$(logline 1)"
	assert [ ! -e "$SB_STATE_DIR/cursors/c.json" ]
	run -0 sb-stream -n --checkpoint c app.log
	assert_output "$(logline 1)"
}

@test "--follow emits appended lines as they arrive, across rotation and truncation" {
	logline 1 >app.log
	sb-stream --follow --checkpoint f app.log >out.ndjson 2>err.txt &
	follower=$!
	wait_for out.ndjson 1
	logline 2 >>app.log
	wait_for out.ndjson 2
	mv app.log app.log.1
	logline 3 >>app.log.1
	logline 4 >app.log
	wait_for out.ndjson 4
	: >app.log
	sleep 0.6 # truncation is seen as the size going down: let it be seen
	logline 5 >>app.log
	wait_for out.ndjson 5
	kill -TERM "$follower"
	wait "$follower"
	status=$?
	follower=
	assert_equal "$status" 0
	assert_equal "$(jq -r .message out.ndjson | tr '\n' ' ')" "m1 m2 m3 m4 m5 "
	# the checkpoint holds what was emitted: a new run emits nothing more
	run -0 sb-stream --checkpoint f app.log
	assert_output ""
}

@test "--follow waits for a file that does not exist yet" {
	sb-stream -F later.log >out.ndjson 2>err.txt &
	follower=$!
	sleep 0.3
	logline 1 >later.log
	wait_for out.ndjson 1
	kill -INT "$follower"
	wait "$follower"
	assert_equal "$?" 0
	follower=
}

@test "SIGTERM ends a run after the last full line, with its checkpoint, status 0" {
	mkfifo pipe
	logline 1 >a.log
	sb-stream --unbuffered --checkpoint t a.log - <pipe >out.ndjson &
	pid=$!
	exec 5>pipe
	logline 2 >&5
	wait_for out.ndjson 2
	kill -TERM "$pid"
	wait "$pid"
	assert_equal "$?" 0
	exec 5>&-
	assert [ -s "$SB_STATE_DIR/cursors/t.json" ]
	run -0 sb-stream --checkpoint t a.log </dev/null
	assert_output ""
}

@test "--dedup: events seen within 5 minutes are dropped by default; -v counts them" {
	ev() { printf '{"type":"event","ts":"2026-11-24T02:%s:00Z","event":"alarm","name":"cpu","state":"ALARM","id":"%s"}\n' "$1" "$2"; }
	{ ev 00 a; ev 02 a; ev 06 a; ev 07 b; } >in.ndjson
	logline 1 >>in.ndjson
	logline 1 >>in.ndjson
	run -0 --separate-stderr sb-stream -v in.ndjson
	assert_equal "$(jq -r '[.ts[14:16], (.id // .message)] | join(" ")' <<<"$output" | tr '\n' ',')" "00 a,06 a,07 b,00 m1,00 m1,"
	assert_equal "$stderr" 'sb-stream: 6 lines read, 5 records written, 1 duplicate dropped, 0 dropped by sampling'
	run -0 sb-stream --dedup 1m in.ndjson
	assert_equal "${#lines[@]}" 5
}

@test "--dedup: without id, the content without ts is the key; the set persists with --checkpoint" {
	printf '%s\n' '{"type":"event","ts":"2026-11-24T02:00:00Z","event":"alarm","name":"cpu"}' >a.ndjson
	printf '%s\n' '{"type":"event","ts":"2026-11-24T02:01:00Z","event":"alarm","name":"cpu"}' >b.ndjson
	run -0 sb-stream --checkpoint d a.ndjson
	assert_equal "${#lines[@]}" 1
	run -0 sb-stream --checkpoint d b.ndjson
	assert_output ""
	assert [ -s "$SB_STATE_DIR/seen/d" ]
}

@test "--tenant: tenant, dims.tenant_id, fields.tenant_id, detail.tenant_id; --include-system" {
	printf '%s\n' '{"type":"log","message":"a","tenant":"acme"}' '{"type":"metric","ts":1,"metric":"m","value":1,"dims":{"tenant_id":"acme"}}' \
		'{"type":"log","message":"c","fields":{"tenant_id":"acme"}}' '{"type":"event","event":"x","detail":{"tenant_id":"acme"}}' \
		'{"type":"log","message":"e","tenant":"globex","fields":{"tenant_id":"acme"}}' '{"type":"log","message":"sys"}' >in.ndjson
	run -0 sb-stream --tenant acme in.ndjson
	assert_equal "${#lines[@]}" 4
	run -0 sb-stream --tenant acme --include-system in.ndjson
	assert_equal "${#lines[@]}" 5
	assert_line --index 4 --partial '"sys"'
}

@test "--sample keeps a deterministic share of logs, errors always, and marks them" {
	for i in $(seq 1 1000); do printf '{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"m%d"}\n' "$i"; done >in.ndjson
	for i in 1 2 3; do printf '{"type":"log","level":"ERROR","message":"e%d"}\n' "$i"; done >>in.ndjson
	echo '{"type":"metric","ts":1,"metric":"m","value":1}' >>in.ndjson
	sb-stream --sample 0.1 in.ndjson >one.ndjson
	sb-stream --sample 0.1 in.ndjson >two.ndjson
	cmp one.ndjson two.ndjson
	kept=$(grep -c '"INFO"' one.ndjson)
	[ "$kept" -gt 60 ] && [ "$kept" -lt 140 ]
	assert_equal "$(grep -c '"ERROR"' one.ndjson)" 3
	assert_equal "$(grep '"INFO"' one.ndjson | grep -c '"sample_rate":0.1')" "$kept"
	run grep -c 'sample_rate' <(grep -v INFO one.ndjson)
	assert_output 0
	run -0 sb-stream --sample 0.1 --sample-errors in.ndjson
	[ "$(grep -c '"ERROR"' <<<"$output")" -le 3 ]
	run -2 sb-stream --sample 0 in.ndjson
	run -2 sb-stream --sample 1.5 in.ndjson
}

@test "a missing or unreadable file is reported, the others read, status 5" {
	logline 1 >a.log
	run -5 --separate-stderr sb-stream missing.log a.log
	assert_equal "$stderr" "sb-stream: cannot open 'missing.log': No such file or directory"
	assert_output "$(logline 1)"
	if [ "$(id -u)" -ne 0 ]; then
		logline 2 >secret.log && chmod 000 secret.log
		run -5 sb-stream secret.log
	fi
}

@test "SOURCE: file is the default; prometheus takes no FILE; prometheus options need it" {
	logline 1 >a.log
	run -0 sb-stream file a.log
	assert_output "$(logline 1)"
	run -2 --separate-stderr sb-stream prometheus a.log
	assert_equal "${stderr_lines[0]}" "sb-stream: prometheus reads no FILE ('a.log')"
	run -2 --separate-stderr sb-stream --query up a.log
	assert_equal "${stderr_lines[0]}" "sb-stream: --query, --step and --name apply to the prometheus source"
	# a server in the environment does not stop file runs
	SB_PROMETHEUS_URL=http://127.0.0.1:9 run -0 sb-stream a.log
	run -2 --separate-stderr sb-stream prometheus --query up
	assert_equal "${stderr_lines[0]}" "sb-stream: prometheus needs --url and at least one --query"
}

@test "--where applies to the records written" {
	for i in 1 2 3; do logline "$i"; done >in.ndjson
	run -0 sb-stream --where '.message == "m2"' in.ndjson
	assert_output "$(logline 2)"
}

@test "a non-string type or level is malformed; --map can supply the type" {
	printf '%s\n' '{"type":5,"message":"x"}' '{"type":"log","level":5,"message":"x"}' >in.ndjson
	run -0 --separate-stderr sb-stream --type log in.ndjson
	assert_output ""
	assert_equal "${stderr_lines[0]}" 'sb-stream: in.ndjson:1: "type" is not a string'
	assert_equal "${stderr_lines[1]}" 'sb-stream: in.ndjson:2: log "level" is not a string'
	echo '{"kind":"log","message":"x"}' >k.ndjson
	run -0 sb-stream --map type=.kind k.ndjson
	assert_output '{"message":"x","type":"log","level":"INFO"}'
}

@test "records of text formats are checked again after --map" {
	echo '10.0.0.1 - - [24/Nov/2026:02:00:00 +0000] "GET /cart HTTP/1.1" 502 12 "-" "curl/8"' >access.log
	run -0 --separate-stderr sb-stream --format combined --map ts=.fields.agent access.log
	assert_output ""
	assert_equal "${stderr_lines[0]}" 'sb-stream: access.log:1: "ts" is not an RFC 3339 time or epoch seconds'
	run -0 --separate-stderr sb-stream --format combined --map fields.status.x=.message access.log
	assert_regex "${stderr_lines[0]}" '^sb-stream: access.log:1: --map: '
}

@test "with --checkpoint, standard input's last line needs no newline; --dedup 0 turns it off" {
	run -0 sb-stream --checkpoint s < <(printf '%s' "$(logline 1)")
	assert_output "$(logline 1)"
	ev='{"type":"event","ts":"2026-11-24T02:00:00Z","event":"alarm","name":"cpu","id":"a"}'
	run -0 sb-stream --dedup 0 < <(echo "$ev"; echo "$ev")
	assert_equal "${#lines[@]}" 2
}

@test "NDJSON errors name the column, not libjq's line" {
	echo '{"type":' >in.ndjson
	run -0 --separate-stderr sb-stream in.ndjson
	assert_equal "${stderr_lines[0]}" 'sb-stream: in.ndjson:1: invalid JSON: Unfinished JSON term at EOF at column 8'
}

@test "--dedup 0 with a checkpoint whose seen set exists" {
	logline 1 >a.log
	run -0 sb-stream --checkpoint z a.log
	logline 2 >>a.log
	run -0 sb-stream --dedup 0 --checkpoint z a.log
	assert_output "$(logline 2)"
}

@test "--follow writes its checkpoint while lines keep coming, never past what it wrote" {
	: >busy.log
	sb-stream -F --checkpoint busy busy.log >out.ndjson 2>err.txt &
	follower=$!
	cursor="$SB_STATE_DIR/cursors/busy.json"
	for _ in $(seq 1 100); do [ -s "$cursor" ] && break; sleep 0.05; done
	# 500,000 lines at once: several seconds of reading without a pause
	yes "$(logline 1)" | head -n 500000 >>busy.log
	offset=0
	for _ in $(seq 1 400); do
		offset=$(jq '.files[].offset' "$cursor")
		[ "$offset" -gt 0 ] && break
		sleep 0.05
	done
	written=$(wc -l <out.ndjson)
	[ "$offset" -gt 0 ]
	[ "$((offset / $(logline 1 | wc -c)))" -le "$written" ]
	[ "$written" -lt 500000 ] # the checkpoint came before the end of the burst
	wait_for out.ndjson 500000 60
	kill -TERM "$follower"
	wait "$follower"
	follower=
	assert_equal "$(jq '.files[].offset' "$cursor")" "$(wc -c <busy.log)"
}
