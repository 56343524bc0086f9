#!/usr/bin/env bats
# sb-score's own rules: the impact formula, merging, ranks, --max, --risk, scope and approval.

setup() {
	load test_helper/common
}

# insight ID TENANT COMPONENT KIND SUBJECT SEVERITY [EXTRA-JSON-FIELDS]
insight() {
	local tenant=""
	[ -n "$2" ] && tenant="\"tenant\":\"$2\","
	printf '{"type":"insight","id":"%s",%s"component":"%s","kind":"%s","metric":"%s","severity":"%s"%s}\n' \
		"$1" "$tenant" "$3" "$4" "$5" "$6" "${7:+,$7}"
}

# field JQ: apply JQ to every opportunity of $output, one result a line
field() {
	jq -c "select(.type == \"opportunity\") | $1" <<<"$output"
}

@test "impact = performance_gain x affected_users x frequency / 100 (change_pct, count over window)" {
	insight i1 acme checkout degradation p95 high \
		'"affected_users":1200,"evidence":{"change_pct":-42.5,"count":30,"window_start":"2026-11-24T01:00:00Z","window_end":"2026-11-24T01:30:00Z"}' >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.performance_gain,.affected_users,.frequency,.impact]')" '[42.5,1200,60,30600]'
}

@test "performance_gain from the means when change_pct is absent, else from severity" {
	{ insight a t c degradation m1 high '"evidence":{"baseline_mean":200,"current_mean":250}'
	  insight b t c degradation m2 high '"evidence":{"baseline_mean":0,"current_mean":250}'
	  insight c t c anomaly m3 low
	  insight d t c anomaly m4 medium
	  insight e t c anomaly m5 critical
	  insight f t c anomaly m6 high '"evidence":{"change_pct":250}'; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.metric,.performance_gain]' | sort | tr -d '\n')" \
		'["m1",25]["m2",25]["m3",5]["m4",10]["m5",50]["m6",100]'
}

@test "affected_users from the insight, else its evidence, else --users-default" {
	{ insight a t c anomaly m1 high '"affected_users":70,"evidence":{"affected_users":5}'
	  insight b t c anomaly m2 high '"evidence":{"affected_users":5}'
	  insight c t c anomaly m3 high; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.metric,.affected_users]' | sort | tr -d '\n')" '["m1",70]["m2",5]["m3",1]'
	run -0 sb-score --users-default 250 in.ndjson
	assert_equal "$(field '[.metric,.affected_users]' | sort | tr -d '\n')" '["m1",70]["m2",5]["m3",250]'
}

@test "frequency: the insight's own, count per hour over first/last seen, a one-minute floor, else 1" {
	{ insight a t c anomaly m1 high '"frequency":12,"evidence":{"count":99}'
	  insight b t c anomaly m2 high '"evidence":{"count":30,"first_seen":1795485600,"last_seen":"2026-11-24T02:30:00Z"}'
	  insight c t c anomaly m3 high '"evidence":{"count":3,"first_seen":"2026-11-24T02:00:00Z","last_seen":"2026-11-24T02:00:00Z"}'
	  insight d t c anomaly m4 high '"evidence":{"count":7}'
	  insight e t c anomaly m5 high; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.metric,.frequency]' | sort | tr -d '\n')" \
		'["m1",12]["m2",60]["m3",180]["m4",7]["m5",1]'
}

@test "insights about the same tenant, component and metric merge into one opportunity" {
	{ insight a acme checkout degradation p95 high '"evidence":{"change_pct":40},"affected_users":10'
	  insight b acme checkout anomaly p95 medium '"evidence":{"change_pct":90},"affected_users":3'
	  insight c acme checkout anomaly p99 medium
	  insight d globex checkout anomaly p95 medium; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.tenant,.metric,.insights,.kinds,.performance_gain,.affected_users,.severity]' | head -1)" \
		'["acme","p95",["a","b"],["degradation","anomaly"],90,10,"high"]'
	assert_equal "$(field .id | wc -l)" 3
}

@test "error patterns merge by pattern; an insight without metric or pattern by its kind" {
	{ printf '%s\n' '{"type":"insight","id":"p1","tenant":"t","component":"api","kind":"error_pattern","pattern":"timeout after <*> ms","severity":"high"}'
	  printf '%s\n' '{"type":"insight","id":"p2","tenant":"t","component":"api","kind":"error_pattern","pattern":"timeout after <*> ms","severity":"medium"}'
	  printf '%s\n' '{"type":"insight","id":"k1","tenant":"t","component":"api","kind":"alarm","severity":"critical","emergency":true}'; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.title,.insights,has("metric"),has("pattern")]' | sort | tr -d '\n')" \
		'["Fix alarm in api",["k1"],false,false]["Fix error pattern \"timeout after <*> ms\" in api",["p1","p2"],false,true]'
}

@test "the same insight id read twice counts once" {
	insight a acme c degradation m high '"evidence":{"change_pct":10}' >in.ndjson
	run -0 sb-score in.ndjson in.ndjson
	assert_equal "$(field .insights)" '["a"]'
}

@test "an insight without id gets one derived from its text" {
	printf '%s\n' '{"type":"insight","tenant":"t","component":"c","kind":"trend","metric":"m","severity":"low"}' >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field .insights)" "[\"$(head -c -1 in.ndjson | sha256sum | cut -c1-16)\"]"
}

@test "ranks follow impact; equal impact keeps input order" {
	{ insight a t c1 anomaly m high '"evidence":{"change_pct":10}'
	  insight b t c2 anomaly m high '"evidence":{"change_pct":30}'
	  insight c t c3 anomaly m high '"evidence":{"change_pct":10}'
	  insight d t c4 anomaly m high '"evidence":{"change_pct":20}'; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.rank,.component]' | tr -d '\n')" '[1,"c2"][2,"c4"][3,"c1"][4,"c3"]'
	run -0 sb-score <(tac in.ndjson)
	assert_equal "$(field '[.rank,.component]' | tr -d '\n')" '[1,"c2"][2,"c4"][3,"c3"][4,"c1"]'
}

@test "--max N keeps the N highest" {
	{ insight a t c1 anomaly m high '"evidence":{"change_pct":10}'
	  insight b t c2 anomaly m high '"evidence":{"change_pct":30}'
	  insight c t c3 anomaly m high '"evidence":{"change_pct":20}'; } >in.ndjson
	run -0 sb-score --max 2 in.ndjson
	assert_equal "$(field '[.rank,.component]' | tr -d '\n')" '[1,"c2"][2,"c3"]'
	run -2 sb-score --max 0 in.ndjson
}

@test "risk from kind, severity and scope; --risk drops what is above the tolerance" {
	{ insight a t c1 trend m low
	  insight b t c2 degradation m high
	  insight c t c3 trend m critical
	  insight d t c4 degradation m critical
	  insight e t c5 mystery m low
	  insight f "" c6 trend m low; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.component,.risk]' | sort | tr -d '\n')" \
		'["c1","low"]["c2","medium"]["c3","medium"]["c4","high"]["c5","high"]["c6","medium"]'
	run -0 sb-score --risk low in.ndjson
	assert_equal "$(field .component | tr -d '\n')" '"c1"'
	run -0 sb-score --risk medium in.ndjson
	assert_equal "$(field .component | sort | tr -d '\n')" '"c1""c2""c3""c6"'
	run -0 sb-score --risk high in.ndjson
	assert_equal "$(field .component | wc -l)" 6
	# --risk is applied before --max
	run -0 sb-score --risk low --max 1 in.ndjson
	assert_equal "$(field '[.rank,.component]')" '[1,"c1"]'
}

@test "system scope (no tenant) needs approval; so does high risk" {
	{ insight a acme c1 trend m low
	  insight b "" c2 trend m low
	  insight c acme c3 degradation m critical; } >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$(field '[.component,.scope,.requires_approval]' | sort | tr -d '\n')" \
		'["c1","tenant",false]["c2","system",true]["c3","tenant",true]'
}

@test "a component named by two tenants, or shared in the configuration, is system scope" {
	{ insight a acme gateway anomaly m medium
	  insight b globex gateway anomaly m medium
	  insight c acme billing anomaly m medium
	  insight d acme ledger anomaly m medium; } >in.ndjson
	echo '{"components":{"ledger":{"path":"/srv/ledger","shared":true},"billing":{"tenant":"acme"}}}' >cfg.json
	run -0 sb-score --config cfg.json in.ndjson
	assert_equal "$(field '[.tenant,.component,.scope,.requires_approval,.risk]' | sort | tr -d '\n')" \
		'["acme","billing","tenant",false,"medium"]["acme","gateway","system",true,"high"]["acme","ledger","system",true,"high"]["globex","gateway","system",true,"high"]'
}

@test "an insight that breaks the rules is rejected under --on-error" {
	{ printf '%s\n' '{"type":"insight","id":"x1","component":"c","severity":"low"}'
	  printf '%s\n' '{"type":"insight","id":"x2","component":"c","kind":"trend","severity":"urgent"}'
	  printf '%s\n' '{"type":"insight","id":"x3","kind":"trend","severity":"low"}'
	  insight ok t c trend m low; } >in.ndjson
	run -0 --separate-stderr sb-score in.ndjson
	assert_equal "$(field .insights)" '["ok"]'
	assert_equal "${stderr_lines[0]}" 'sb-score: in.ndjson:1: insight has no "kind" string'
	assert_equal "${stderr_lines[1]}" 'sb-score: in.ndjson:2: insight "severity" must be low, medium, high or critical'
	assert_equal "${stderr_lines[2]}" 'sb-score: in.ndjson:3: insight has no "component" string'
	assert_equal "${stderr_lines[3]}" 'sb-score: 3 malformed lines skipped'
	run -3 sb-score --on-error fail in.ndjson
	run -0 sb-score -q --on-error quarantine=q.ndjson in.ndjson
	assert_equal "$(jq -c '[.line,.error]' q.ndjson | head -1)" '[1,"insight has no \"kind\" string"]'
}

@test "--pass forwards accepted insights, not rejected ones" {
	{ printf '%s\n' '{"type":"insight","id":"x1","component":"c","severity":"low"}'
	  insight ok t c trend m low; } >in.ndjson
	run -0 --separate-stderr sb-score -q --pass in.ndjson
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "$(sed -n 2p in.ndjson)"
}

@test "ids are content-derived: the same insights in another order give the same ids" {
	{ insight a t c1 anomaly m high '"evidence":{"change_pct":10}'
	  insight b t c1 anomaly m high '"evidence":{"change_pct":10}'
	  insight c t c2 anomaly m high; } >in.ndjson
	run -0 sb-score in.ndjson
	one=$(field .id | sort)
	run -0 sb-score <(tac in.ndjson)
	assert_equal "$(field .id | sort)" "$one"
	assert_regex "$(field .id | head -1)" '^"[0-9a-f]{16}"$'
}

@test "--verbose reports the counts" {
	insight a t c anomaly m high >in.ndjson
	run -0 --separate-stderr sb-score -v in.ndjson
	assert_equal "$stderr" "sb-score: 1 insights in 1 opportunities: 1 written, 0 dropped by --risk or --max"
}

@test "an empty input gives no output and status 0" {
	run -0 --separate-stderr sb-score /dev/null
	assert_output ""
	assert_equal "$stderr" ""
}

@test "the worked example in sb-score(1) is what sb-score writes" {
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g' "$SB_ROOT/man/sb-score.1" | grep '^{"type"' >example.txt
	assert_equal "$(wc -l <example.txt)" 9
	head -5 example.txt >in.ndjson
	run -0 sb-score in.ndjson
	assert_equal "$output" "$(sed -n 6,9p example.txt)"
}
