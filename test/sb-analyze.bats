#!/usr/bin/env bats
# sb-analyze on inputs whose answer is known: synthetic series (a step, a
# spike, a drift toward a limit, Gaussian noise) from test/gen-series.c,
# completion and alarm events, and hand-made log messages.

setup_file() {
	load helpers/gen-series
	build_gen_series
}

setup() {
	load test_helper/common
}

# insights JQ: apply JQ to every insight of $output, one result a line (strings raw)
insights() {
	jq -rc "select(.type == \"insight\") | $1" <<<"$output"
}

count() {
	jq -s "[.[] | select(.type == \"insight\") | select($1)] | length" <<<"$output"
}

# metric TS VALUE [METRIC [COMPONENT [EXTRA]]]: one metric record
metric() {
	printf '{"type":"metric","ts":"%s","component":"%s","metric":"%s","value":%s%s}\n' \
		"$1" "${4:-checkout}" "${3:-latency_ms}" "$2" "${5:+,$5}"
}

@test "--help lists every option; --version" {
	run -0 sb-analyze --help
	for o in --pass --window --sigma --min-change --z --robust --higher-is-better --lower-is-better --limit \
		--horizon --near --min-level --min-count --similarity --templates --summary --max-series --max-templates; do
		assert_output --partial -- "$o"
	done
	run -0 sb-analyze --version
	assert_output --partial "sb-analyze"
}

@test "a step change: one degradation with its evidence and a sentence a person can act on" {
	"$GEN" step --points 400 --at 250 --size 30 --mean 100 --sd 5 >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	run -0 jq -c 'select(.kind == "degradation")' <<<"$output"
	assert_equal "$(jq -r .component <<<"$output")" checkout
	assert_equal "$(jq -r .metric <<<"$output")" latency_ms
	assert_equal "$(jq -r .severity <<<"$output")" high
	assert_equal "$(jq -r .evidence.since <<<"$output")" 2026-11-24T04:10:00Z
	assert_equal "$(jq -r .evidence.direction <<<"$output")" lower_is_better
	assert_equal "$(jq -c '.evidence | [.baseline_count, .current_count]' <<<"$output")" '[60,60]'
	assert_equal "$(jq '.evidence | .current_mean > .baseline_mean + 3 * .stddev and .change_pct > 5' <<<"$output")" true
	for f in baseline_mean current_mean stddev z change_pct window_start window_end baseline_start baseline_end \
		since_mean since_change_pct; do
		assert_equal "$(jq ".evidence | has(\"$f\")" <<<"$output")" true
	done
	assert_regex "$(jq -r .summary <<<"$output")" '^latency_ms of checkout rose (2[5-9]|3[0-5])% \([0-9.]+ ms → [0-9.]+ ms\) since 04:10$'
	assert_regex "$(jq -r .id <<<"$output")" '^[0-9a-f]{16}$'
}

@test "direction: a rise of a higher-is-better metric is no degradation, a fall is" {
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 --metric rps --unit "" >up.ndjson
	"$GEN" step --points 400 --at 250 --size -50 --mean 100 --sd 5 --metric rps --unit "" >down.ndjson
	run -0 sb-analyze up.ndjson
	assert_equal "$(count '.kind == "degradation"')" 0
	run -0 sb-analyze down.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	assert_regex "$(insights 'select(.kind == "degradation") | .summary')" 'rps of checkout fell'
	# --lower-is-better turns the name's default around; so does the component's metrics map.
	run -0 sb-analyze --lower-is-better rps up.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	echo '{"components":{"checkout":{"metrics":{"rps":"lower"}}}}' >c.json
	run -0 sb-analyze -c c.json up.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	# A latency metric told it is higher-is-better degrades when it falls.
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 >lat.ndjson
	run -0 sb-analyze --higher-is-better latency_ms lat.ndjson
	assert_equal "$(count '.kind == "degradation"')" 0
}

@test "--sigma and --min-change: a small change is not a degradation" {
	"$GEN" step --points 400 --at 250 --size 4 --mean 100 --sd 0.5 >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 0  # 4% is under the 5% default
	run -0 sb-analyze --min-change 3% in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	run -0 sb-analyze --min-change 3 --sigma 20 in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 0
}

@test "a single spike: one anomaly at its time with its z-score" {
	"$GEN" spike --points 300 --at 150 --size 80 --mean 100 --sd 5 >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count 'true')" 1
	assert_equal "$(insights '[.kind, .ts, .evidence.points, .evidence.start, .severity]')" \
		'["anomaly","2026-11-24T02:30:00Z",1,"2026-11-24T02:30:00Z","critical"]'
	assert_equal "$(insights '.evidence | .peak_z > 10 and .method == "mean" and .threshold == 4')" true
	assert_regex "$(insights .summary)" '^latency_ms of checkout spiked to 18[0-9.]* ms at 02:30, usual 1[0-9.]* ms ± [0-9.]* ms$'
	run -0 sb-analyze --robust in.ndjson
	assert_equal "$(insights '[.kind, .ts, .evidence.method]')" '["anomaly","2026-11-24T02:30:00Z","robust"]'
	run -0 sb-analyze --z 20 in.ndjson
	assert_equal "$(count 'true')" 0
}

@test "anomalous points close together are one insight, not one per point" {
	{
		"$GEN" noise --points 100 --mean 100 --sd 2 | head -n 100
		"$GEN" noise --points 5 --mean 200 --sd 2 --start 2026-11-24T01:40:00Z
		"$GEN" noise --points 100 --mean 100 --sd 2 --seed 7 --start 2026-11-24T01:45:00Z
	} >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count '.kind == "anomaly"')" 1
	assert_equal "$(insights 'select(.kind == "anomaly") | [.evidence.start, .evidence.end <= "2026-11-24T01:44:00Z", .evidence.points >= 2]')" \
		'["2026-11-24T01:40:00Z",true,true]'
	assert_regex "$(insights 'select(.kind == "anomaly") | .summary')" 'anomalous points until 01:4'
}

@test "Gaussian noise: at most one insight per 10,000 points per series with the defaults" {
	for seed in 1 2 3 4 5; do "$GEN" noise --points 10000 --seed "$seed" --series 2; done >in.ndjson
	run -0 sb-analyze in.ndjson
	# 10 series of 10,000 points each (the seeds restart the clock: each run is new points of the same series
	# only after a gap, which the windows take as they come).
	[ "$(count 'true')" -le 10 ]
	for seed in 11 12 13; do
		"$GEN" noise --points 10000 --seed "$seed" --metric "m$seed" >n.ndjson
		run -0 sb-analyze n.ndjson
		[ "$(count 'true')" -le 1 ]
	done
}

@test "a slow drift toward a limit: a trend insight with the projection; none without a limit" {
	"$GEN" drift --points 300 --at 100 --size 60 --mean 50 --sd 2 --metric disk_used_pct --unit % >in.ndjson
	run -0 sb-analyze --limit disk_used_pct=95 in.ndjson
	assert_equal "$(count '.kind == "trend"')" 1
	run -0 jq -c 'select(.kind == "trend")' <<<"$output"
	assert_equal "$(jq '.evidence | .limit == 95 and .slope_per_hour > 0 and .hours_to_limit > 0 and .hours_to_limit <= 24' <<<"$output")" true
	assert_equal "$(jq '.evidence | has("crosses_at") and has("current") and has("slope_stderr_per_hour")' <<<"$output")" true
	assert_regex "$(jq -r .summary <<<"$output")" '^disk_used_pct of checkout is rising [0-9.]+ per hour and will reach its limit of 95% in about [0-9.]+ h \(around [0-9:]+\)$'
	run -0 sb-analyze in.ndjson
	assert_equal "$(count '.kind == "trend"')" 0
	# A shorter horizon reports it later, closer to the limit.
	run -0 sb-analyze --limit disk_used_pct=95 --horizon 1h in.ndjson
	assert_equal "$(insights 'select(.kind == "trend") | .evidence.hours_to_limit <= 1')" true
	echo '{"analyze":{"limits":{"disk_used_pct":95}}}' >c.json
	run -0 sb-analyze -c c.json in.ndjson
	assert_equal "$(count '.kind == "trend"')" 1
}

@test "--window as a duration" {
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 >in.ndjson
	run -0 sb-analyze --window 30m in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 1
	assert_equal "$(insights 'select(.kind == "degradation") | .evidence.current_count')" 30
	SB_ANALYZE_WINDOW=1h run -0 sb-analyze in.ndjson
	assert_equal "$(insights 'select(.kind == "degradation") | .evidence.current_count')" 60
}

@test "series are kept apart by tenant, component and dims; dims are named in the sentence" {
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 --series 3 >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count '.kind == "degradation"')" 3
	assert_equal "$(insights 'select(.kind == "degradation") | .dims.host' | sort | tr -d '"' | tr '\n' ' ')" "h1 h2 h3 "
	assert_regex "$(insights 'select(.dims.host == "h2" and .kind == "degradation") | .summary')" '^latency_ms of checkout \(host=h2\) rose'
	jq -c '.tenant = "acme"' in.ndjson >t.ndjson
	run -0 sb-analyze --tenant acme t.ndjson in.ndjson
	assert_equal "$(count '.kind == "degradation" and .tenant == "acme"')" 3
	assert_equal "$(count '.tenant != "acme"')" 0
}

@test "the fast path for metric and log records gives what libjq's path gives" {
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 --series 3 >in.ndjson
	jq -c '.dims = {"z": "1", "host": .dims.host}' in.ndjson >reordered.ndjson
	run -0 sb-analyze in.ndjson
	fast=$output
	run -0 sb-analyze --where true in.ndjson
	assert_equal "$output" "$fast"
	run -0 sb-analyze reordered.ndjson
	fast=$output
	run -0 sb-analyze --where true reordered.ndjson
	assert_equal "$output" "$fast"
	# Log records too, with and without tenants nested in fields.
	for i in 1 2 3 4 5 6 7; do
		printf '{"type":"log","ts":"2026-11-24T00:0%d:00Z","level":"error","message":"job %d failed","fields":{"tenant_id":"t%d"}}\n' \
			"$i" "$i" $((i % 2))
		printf '{"type":"log","ts":%d,"level":"WARN","component":"api","message":"slow \\"call\\" %d"}\n' \
			$((1795478400 + i)) "$i"
	done >logs.ndjson
	for mode in "" --templates --summary; do
		run -0 sb-analyze $mode --min-count 2 logs.ndjson
		fast=$output
		run -0 sb-analyze $mode --min-count 2 --where true logs.ndjson
		assert_equal "$output" "$fast"
	done
	assert_equal "$(sb-analyze --min-count 2 logs.ndjson | jq -r '[.tenant, .pattern] | join(" ")' | sort)" ' slow "<*>" <*>
t0 job <*> failed
t1 job <*> failed'
}

@test "ids are content-derived: a re-run gives the same insights" {
	"$GEN" step --points 400 --at 250 --size 50 --mean 100 --sd 5 >in.ndjson
	run -0 sb-analyze in.ndjson
	first=$output
	run -0 sb-analyze in.ndjson
	assert_equal "$output" "$first"
}

@test "completion events: p95 duration near the timeout, memory near its limit, a rising error ratio" {
	for i in $(seq 0 199); do
		d=$((i < 100 ? 800 + i % 7 * 20 : 2700 + i % 5 * 20))
		e=$((i >= 150 && i % 3 == 0 ? 1 : 0))
		printf '{"type":"event","ts":%d,"event":"completion","name":"resize","state":"%s","detail":{"function":"resize","duration_ms":%d,"memory_mb":128,"max_memory_used_mb":%d,"errors":%d,"timeout_ms":3000}}\n' \
			$((1764000000 + i * 60)) "$([ $e = 1 ] && echo FAILED || echo OK)" "$d" $((60 + i / 4)) "$e"
	done >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(insights '[.kind, .component, .metric, .evidence.check]' | sort -u | wc -l)" 3
	assert_equal "$(count '.kind == "completion" and .metric == "duration_ms"')" 1
	assert_equal "$(count '.kind == "completion" and .metric == "max_memory_used_mb"')" 1
	assert_equal "$(count '.kind == "completion" and .metric == "error_ratio"')" 1
	assert_regex "$(insights 'select(.metric == "duration_ms") | .summary')" '^p95 duration of resize is [0-9]+ ms, [0-9]+% of its 3000 ms timeout$'
	assert_regex "$(insights 'select(.metric == "max_memory_used_mb") | .summary')" '^peak memory of resize is [0-9.]+ MB, [0-9]+% of its 128 MB$'
	assert_regex "$(insights 'select(.metric == "error_ratio") | .summary')" '^error ratio of resize rose from 0.0% to [0-9.]+% over the last 60 invocations$'
	# --near moves the line; a timeout from the configuration serves when the events have none.
	run -0 sb-analyze --near 99 in.ndjson
	assert_equal "$(count '.metric == "duration_ms" or .metric == "max_memory_used_mb"')" 0
	jq -c 'del(.detail.timeout_ms)' in.ndjson >nt.ndjson
	run -0 sb-analyze nt.ndjson
	assert_equal "$(count '.metric == "duration_ms"')" 0
	echo '{"components":{"resize":{"timeout":"3s"}}}' >c.json
	run -0 sb-analyze -c c.json nt.ndjson
	assert_equal "$(count '.metric == "duration_ms"')" 1
}

@test "an alarm in ALARM is a critical emergency insight; other states and events are not" {
	cat >in.ndjson <<'EOF'
{"type":"event","ts":"2026-11-24T02:00:00Z","event":"alarm","name":"HighLatency","state":"ALARM","previous":"OK","component":"checkout","tenant":"acme","detail":{"reason":"Threshold Crossed","metric":"latency_p95_ms"},"id":"e1"}
{"type":"event","ts":"2026-11-24T02:10:00Z","event":"alarm","name":"HighLatency","state":"OK","previous":"ALARM","component":"checkout","id":"e2"}
{"type":"event","ts":"2026-11-24T02:20:00Z","event":"deploy","name":"v2"}
EOF
	run -0 sb-analyze in.ndjson
	assert_equal "$(count 'true')" 1
	assert_equal "$(insights '[.kind, .severity, .emergency, .tenant, .component, .metric, .alarm, .evidence.event]')" \
		'["alarm","critical",true,"acme","checkout","latency_p95_ms","HighLatency","e1"]'
	assert_equal "$(insights .summary)" 'alarm HighLatency is in ALARM for checkout: Threshold Crossed'
	# The deploy event is for later stages: forwarded as it was.
	assert_line '{"type":"event","ts":"2026-11-24T02:20:00Z","event":"deploy","name":"v2"}'
}

@test "--summary: counts by kind and severity and the time covered, per tenant" {
	"$GEN" spike --points 300 --at 150 --size 80 --mean 100 --sd 5 >in.ndjson
	"$GEN" spike --points 300 --at 200 --size 80 --mean 100 --sd 5 | jq -c '.tenant = "acme"' >>in.ndjson
	run -0 sb-analyze --summary in.ndjson
	assert_equal "$(jq -c 'select(.type == "summary") | [.tenant, .insights, .by_kind.anomaly, .by_severity.critical, .from, .to]' <<<"$output")" \
		'[null,1,1,1,"2026-11-24T00:00:00Z","2026-11-24T04:59:00Z"]
["acme",1,1,1,"2026-11-24T00:00:00Z","2026-11-24T04:59:00Z"]'
	assert_equal "$(count 'true')" 0
	run -0 sb-analyze --summary --tenant acme in.ndjson
	assert_equal "$(jq -c '[.tenant, .insights, .records, .series]' <<<"$output")" '["acme",1,300,1]'
	run -0 sb-analyze --summary /dev/null
	assert_equal "$(jq -c '[.insights, .from]' <<<"$output")" '[0,null]'
}

@test "records of other types are forwarded in order; --pass forwards the consumed ones too" {
	{ echo '{"type":"opportunity","id":"o1"}'; metric 2026-11-24T00:00:00Z 1; echo '{"type":"change","id":"c1"}'; } >in.ndjson
	run -0 sb-analyze in.ndjson
	assert_output '{"type":"opportunity","id":"o1"}
{"type":"change","id":"c1"}'
	run -0 sb-analyze --pass in.ndjson
	assert_output "$(cat in.ndjson)"
}

@test "--max-series: the least recently seen series is forgotten, with one warning" {
	for i in 1 2 3 4 5; do metric "2026-11-24T00:00:0${i}Z" 1 "m$i"; done >in.ndjson
	run -0 --separate-stderr sb-analyze --max-series 2 -v in.ndjson
	assert_equal "$(grep -c 'forgetting the least recently seen (--max-series)' <<<"$stderr")" 1
	assert_regex "$stderr" '3 series forgotten'
}

@test "malformed input: named by file and line, skipped, or fatal under --on-error fail" {
	{ metric 2026-11-24T00:00:00Z 1; echo '{"type":"metric","ts":"x"'; echo '{"type":"metric","metric":"m","ts":"2026-11-24T00:00:00Z"}'
	  echo '{"type":"metric","metric":"m","value":1}'; echo '{"type":"metric","metric":"m","value":1,"ts":0,"dims":[1]}'
	  echo '{"type":"log","ts":"2026-11-24T00:00:00Z","level":"ERROR"}'; echo '{"type":"event","ts":0}'
	  echo '{"type":"event","event":"completion","ts":0}'; echo '{"type":"event","event":"alarm","state":"ALARM"}'; } >in.ndjson
	run -0 --separate-stderr sb-analyze in.ndjson
	assert_regex "$stderr" 'in.ndjson:2: invalid JSON'
	assert_regex "$stderr" 'in.ndjson:3: metric record has no numeric "value"'
	assert_regex "$stderr" 'in.ndjson:4: metric record has no "ts" time'
	assert_regex "$stderr" "in.ndjson:5: metric record's \"dims\" is not an object"
	assert_regex "$stderr" 'in.ndjson:6: log record has no "message" string'
	assert_regex "$stderr" 'in.ndjson:7: event record has no "event" kind'
	assert_regex "$stderr" 'in.ndjson:8: completion event has no function name'
	assert_regex "$stderr" 'in.ndjson:9: alarm event has no "ts" time'
	assert_regex "$stderr" '8 malformed lines skipped'
	run -3 --separate-stderr sb-analyze --on-error fail in.ndjson
	assert_regex "$stderr" 'in.ndjson:2: invalid JSON'
	run -0 --separate-stderr sb-analyze --on-error quarantine=q.ndjson in.ndjson
	assert_equal "$(wc -l <q.ndjson)" 8
}

@test "bad option values are usage errors" {
	for args in "--window 2" "--window 5x" "--sigma -1" "--z abc" "--min-change x%" "--limit foo" "--limit foo=bar" \
		"--horizon 0" "--min-level LOUD" "--min-count 0" "--similarity 2" "--max-series 0" "--templates --summary" \
		"--near x"; do
		run -2 --separate-stderr sb-analyze $args /dev/null
		assert_regex "$stderr" '^sb-analyze: '
	done
	echo '{"analyze":{"limits":{"x":"high"}}}' >c.json
	run -2 --separate-stderr sb-analyze -c c.json /dev/null
	assert_regex "$stderr" 'analyze.limits.x is not a number'
}

# log TS LEVEL MESSAGE [EXTRA]: one log record
log() {
	jq -cn --arg ts "$1" --arg level "$2" --arg m "$3" --argjson extra "${4:-{\}}" \
		'{type: "log", ts: $ts, level: $level, component: "checkout", message: $m} + $extra'
}

@test "--templates: every log record gets its template and id, in input order, other records untouched" {
	{
		log 2026-11-24T00:00:00Z ERROR 'Timeout talking to db-1 after 3000 ms'
		echo '{"type":"opportunity","id":"o1"}'
		log 2026-11-24T00:00:01Z INFO 'User 42 logged in from 10.0.0.7'
		log 2026-11-24T00:00:02Z ERROR 'Timeout talking to db-2 after 2500 ms'
		log 2026-11-24T00:00:03Z DEBUG 'cache warm'
		log 2026-11-24T00:00:04Z INFO 'User 7 logged in from 10.0.0.9'
		metric 2026-11-24T00:00:05Z 1
	} >in.ndjson
	run -0 sb-analyze --templates --min-level INFO in.ndjson
	assert_equal "$(jq -c '[.type, .template]' <<<"$output")" '["log","Timeout talking to db-<*> after <*> ms"]
["opportunity",null]
["log","User <*> logged in from <*>"]
["log","Timeout talking to db-<*> after <*> ms"]
["log",null]
["log","User <*> logged in from <*>"]
["metric",null]'
	# The id is the template's; the records keep every field they had.
	assert_equal "$(jq -r 'select(.template) | .template_id' <<<"$output" | sort -u | wc -l)" 2
	assert_equal "$(jq -c 'select(.level == "DEBUG")' <<<"$output")" "$(sed -n 5p in.ndjson)"
	assert_equal "$(jq -c 'select(.template) | del(.template, .template_id)' <<<"$output")" "$(grep -v -e DEBUG -e '"opportunity"' -e '"metric"' in.ndjson)"
	# A record that already has a template is given the new one, not two.
	log 2026-11-24T00:00:00Z ERROR 'disk full on /dev/sda1' '{"template":"old"}' >t.ndjson
	run -0 sb-analyze --templates t.ndjson
	assert_equal "$(jq -c '[.template, (keys | length)]' <<<"$output")" '["disk full on <*>",7]'
}

@test "error patterns: a template with --min-count messages is an insight with its evidence" {
	for i in 1 2 3 4 5 6; do
		log "2026-11-24T00:0$i:00Z" ERROR "Payment $i failed: card declined for order $((i * 1000))" \
			'{"stack":"Traceback (most recent call last):\n  File \"/app/pay.py\", line 42, in charge\n    raise Declined()\npay.Declined"}'
	done >in.ndjson
	for i in 1 2 3; do log "2026-11-24T00:0$i:30Z" WARN "slow query took $i s"; done >>in.ndjson
	log 2026-11-24T00:09:00Z INFO 'started' >>in.ndjson
	run -0 sb-analyze in.ndjson
	assert_equal "$(count 'true')" 1
	run -0 jq -c 'select(.type == "insight")' <<<"$output"
	assert_equal "$(jq -c '[.kind, .component, .severity, .pattern]' <<<"$output")" \
		'["error_pattern","checkout","medium","Payment <*> failed: card declined for order <*>"]'
	assert_equal "$(jq -c '.evidence | [.count, .level, .first_seen, .last_seen, (.examples | length), .stack_frame]' <<<"$output")" \
		'[6,"ERROR","2026-11-24T00:01:00Z","2026-11-24T00:06:00Z",3,"/app/pay.py:42 in charge"]'
	assert_equal "$(jq -r '.evidence.examples[0]' <<<"$output")" 'Payment 1 failed: card declined for order 1000'
	assert_regex "$(jq -r .summary <<<"$output")" '^ERROR messages in checkout: "Payment <\*> failed: card declined for order <\*>" seen 6 times since 00:01$'
	assert_equal "$(jq '.evidence.rate_per_hour > 0 and .frequency > 0' <<<"$output")" true
	# --min-count and --min-level move the lines.
	run -0 sb-analyze --min-count 3 in.ndjson
	assert_equal "$(count 'true')" 2
	run -0 sb-analyze --min-level ERROR --min-count 3 in.ndjson
	assert_equal "$(count 'true')" 1
	run -0 sb-analyze --min-count 7 in.ndjson
	assert_equal "$(count 'true')" 0
}

@test "error patterns: new in the last hour, or a rate rising above its own baseline" {
	# Three hours of one steady warning, then a burst of it and a new error in the last hour.
	for h in 0 1 2; do
		for m in 05 25 45; do log "2026-11-24T0$h:$m:00Z" WARN "retrying connection to cache-$m"; done
	done >in.ndjson
	for m in 10 11 12 13 14 15 16 17 18 19 20 21; do log "2026-11-24T03:$m:00Z" WARN "retrying connection to cache-$m"; done >>in.ndjson
	for m in 30 31 32 33 34; do log "2026-11-24T03:$m:00Z" ERROR "segfault in worker $m"; done >>in.ndjson
	run -0 sb-analyze in.ndjson
	# The last hour is counted in five-minute steps: it starts at 02:35 here.
	assert_equal "$(insights '[.pattern, .evidence.new, .evidence.current_count, .evidence.baseline_rate]')" \
		'["retrying connection to cache-<*>",false,13,3.2]
["segfault in worker <*>",true,5,0]'
	assert_regex "$(insights 'select(.evidence.new | not) | .summary')" 'rose to 13 in the last hour from 3.2 an hour before$'
	assert_regex "$(insights 'select(.evidence.new) | .summary')" '^new ERROR messages in checkout'
}

@test "--max-templates: the least recently seen template is forgotten, with one warning" {
	for w in alpha beta gamma delta epsilon; do log 2026-11-24T00:00:00Z ERROR "$w broke"; log 2026-11-24T00:00:00Z ERROR "$w $w broke again"; done >in.ndjson
	run -0 --separate-stderr sb-analyze --max-templates 2 --templates in.ndjson
	assert_equal "$(grep -c 'forgetting the least recently seen (--max-templates)' <<<"$stderr")" 1
	# Forgotten templates keep the text they had for --templates.
	assert_equal "$(jq -r .template <<<"$output" | head -2)" 'alpha broke
alpha alpha broke again'
}

@test "--similarity: how much of a template a message must share to join it" {
	for w in epsilon omega kappa lambda mu; do log 2026-11-24T00:00:00Z ERROR "alpha beta gamma delta $w"; done >in.ndjson
	run -0 sb-analyze --templates in.ndjson
	assert_equal "$(jq -r .template <<<"$output" | sort -u)" 'alpha beta gamma delta <*>'
	run -0 sb-analyze --templates --similarity 0.9 in.ndjson
	assert_equal "$(jq -r .template <<<"$output" | sort -u | wc -l)" 5
	SB_ANALYZE_SIMILARITY=0.9 run -0 sb-analyze --templates in.ndjson
	assert_equal "$(jq -r .template <<<"$output" | sort -u | wc -l)" 5
}

@test "real logs: the HDFS sample of Loghub-2k is grouped as its labels say (skipped without the shared data)" {
	local shared=${SB_SHARED:-$SB_ROOT/../shared}
	local csv="$shared/data/loghub-2k/HDFS/HDFS_2k.log_structured.csv"
	[ -f "$csv" ] && [ -x "$shared/tools/loghub-eval" ] || skip "no Loghub-2k data under $shared (set SB_SHARED)"
	command -v python3 >/dev/null || skip "python3 is needed by loghub-eval"
	# The Content column (this sample has no quoted fields) as log records.
	awk -F, 'NR > 1 { print $7 }' "$csv" | jq -cR '{type: "log", ts: "2026-11-24T00:00:00Z", level: "INFO", message: .}' >in.ndjson
	run -0 sb-analyze --templates --min-level DEBUG in.ndjson
	echo "$output" >out.ndjson
	run -0 "$shared/tools/loghub-eval" "$csv" out.ndjson
	ga=$(awk '/GA/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }' <<<"$output")
	echo "$output"
	[ "$(awk -v ga="$ga" 'BEGIN { print (ga >= 0.95) }')" = 1 ]
}
