#!/usr/bin/env bats
# sb-monitor: each deployment of a hand-written journal judged on synthetic
# metric series (test/gen-series.c) whose answer is known. The deployment
# starts at 10:00:00, finishes at 10:00:05 and is monitored for an hour, so
# the baseline is the hour [09:00:00, 10:00:00) and the current window
# starts at 10:00:05. Baseline series run 09:01-09:50, current ones 10:01-10:50.

setup_file() {
	load helpers/gen-series
	build_gen_series
}

setup() {
	load test_helper/common
	export SB_STATE_DIR="$BATS_TEST_TMPDIR/state" SB_CONFIG="$BATS_TEST_TMPDIR/config.json"
	JOURNAL="$SB_STATE_DIR/deployments.ndjson"
	AUDIT="$SB_STATE_DIR/audit.ndjson"
	mkdir -p "$SB_STATE_DIR"
	config ''
	deployment dep-1 shop c1
	# Inside the monitoring period, and after it.
	DURING=2026-11-25T10:55:00Z
	AFTER=2026-11-25T11:30:00Z
}

# config EXTRA: shop watches latency_p95_ms (lower is better) and rps
# (higher is better); EXTRA is more of shop's members, e.g. '"on_degrade":"hold"'.
config() {
	printf '{"components":{"shop":{"path":"/srv/shop","metrics":{"latency_p95_ms":"lower","rps":"higher"}%s},"cart":{"path":"/srv/cart","metrics":{"latency_p95_ms":"lower"}}}}\n' \
		"${1:+,$1}" >"$SB_CONFIG"
}

# deployment ID COMPONENT CHANGE [EXTRA-BEGIN-FIELDS]: a begin and a done entry, deployed.
deployment() {
	printf '{"deployment":"%s","phase":"begin","component":"%s","change":"%s","target":"/srv/%s","started":"2026-11-25T10:00:00Z","ts":"2026-11-25T10:00:00Z"%s}\n' \
		"$1" "$2" "$3" "$2" "${4:+,$4}" >>"$JOURNAL"
	printf '{"deployment":"%s","phase":"done","status":"deployed","finished":"2026-11-25T10:00:05Z","monitor_until":"2026-11-25T11:00:05Z","ts":"2026-11-25T10:00:05Z"}\n' \
		"$1" >>"$JOURNAL"
}

# series WINDOW METRIC SEED MEAN SD [GEN-OPTION]...: 50 points a minute apart,
# WINDOW base (from 09:01) or cur (from 10:01), of component shop.
series() {
	local start=2026-11-25T09:01:00Z
	[ "$1" = cur ] && start=2026-11-25T10:01:00Z
	"$GEN" noise --points 50 --start "$start" --metric "$2" --seed "$3" --mean "$4" --sd "$5" \
		--component shop --unit '' "${@:6}"
}

# Steady rps in both windows: it never decides anything by itself.
steady_rps() {
	series base rps 21 200 10
	series cur rps 22 200 10
}

# verdict JQ [ID]: apply JQ to the verdict (of deployment ID, default dep-1) in $output
verdict() {
	jq -c "select(.type == \"verdict\" and .deployment == \"${2:-dep-1}\") | $1" <<<"$output"
}

# The latency of dep-1 rises by half in the current window.
degraded_input() {
	series base latency_p95_ms 1 100 5 --unit ms
	series cur latency_p95_ms 3 150 5 --unit ms
	steady_rps
}

# Both metrics as noise around the same means.
noise_input() {
	series base latency_p95_ms 1 100 5 --unit ms
	series cur latency_p95_ms 2 100 5 --unit ms
	steady_rps
}

@test "--help lists every option; --version" {
	run -0 sb-monitor --help
	for o in --threshold --alpha --test --min-samples --max-spread-ratio --on-degrade --deployment --dry-run \
		--tenant --where --on-error --state-dir --config; do
		assert_output --partial -- "$o"
	done
	assert_output --partial -- "-n, --dry-run"
	run -0 sb-monitor --version
	assert_output --partial "sb-monitor"
}

@test "a clear degradation: rollback, exit 1, every number in the verdict, nothing journaled" {
	degraded_input >in.ndjson
	cp "$JOURNAL" journal.before
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '[.type,.deployment,.component,.change,.decision,.ts,.monitor_until,has("tenant")]')" \
		'["verdict","dep-1","shop","c1","rollback","2026-11-25T10:55:00Z","2026-11-25T11:00:05Z",false]'
	assert_equal "$(verdict '[.baseline.from,.baseline.to,.current.from,.current.to]')" \
		'["2026-11-25T09:00:00Z","2026-11-25T10:00:00Z","2026-11-25T10:00:05Z","2026-11-25T10:55:00Z"]'
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.direction,.unit,.baseline.n,.current.n,.degraded,.spread_degraded,.insufficient,.exact]')" \
		'["lower","ms",50,50,true,false,false,false]'
	# Every current value exceeds every baseline value: U = 50 x 50.
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.u, (.degradation_pct|floor), (.baseline.mean|floor), (.current.mean|floor), .p_value < 1e-15]')" \
		'[2500,49,99,149,true]'
	# No number is missing or null in either metric.
	assert_equal "$(verdict '[.metrics[] | (.baseline,.current | .n,.mean,.median,.iqr), .degradation_pct, .u, .p_value, .spread_ratio, .spread_f, .spread_p_value] | map(type) | unique')" \
		'["number"]'
	assert_equal "$(verdict '.metrics.rps | [.direction,.degraded,.spread_degraded,(.p_value > 0.05)]')" \
		'["higher",false,false,true]'
	assert_equal "$(verdict '.settings')" \
		'{"threshold":10,"alpha":0.05,"test":"mann-whitney","min_samples":10,"max_spread_ratio":2,"on_degrade":"rollback"}'
	assert_equal "$(verdict '.reason')" \
		'"Rollback recommended: latency_p95_ms mean rose 49.6% (99.61 -> 149 ms, Mann-Whitney p = 3.5e-18)."'
	# sb-rollback journals the rollback, not sb-monitor.
	cmp "$JOURNAL" journal.before
	[ ! -e "$AUDIT" ]
}

@test "noise only: pending inside the period, then keep after it, journaled and audited" {
	noise_input >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '[.decision, .metrics[].degraded, .metrics[].spread_degraded]')" \
		'["pending",false,false,false,false]'
	assert_equal "$(verdict '.reason | startswith("Pending: no metric degraded so far; monitoring continues until 2026-11-25T11:00:05Z (latency_p95_ms ")')" true
	assert_equal "$(wc -l <"$JOURNAL")" 2
	[ ! -e "$AUDIT" ]

	SB_NOW=$AFTER run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '[.decision, .current.to, .metrics.latency_p95_ms.current.n]')" \
		'["keep","2026-11-25T11:00:05Z",50]'
	assert_equal "$(verdict '.reason | startswith("Kept: no metric degraded by more than 10% in mean or 2 times in spread at alpha 0.05 by the end of monitoring at 2026-11-25T11:00:05Z (latency_p95_ms ")')" true
	assert_equal "$(tail -1 "$JOURNAL" | jq -c '[.deployment,.phase,.verdict,(.reason|startswith("Kept:")),.ts]')" \
		'["dep-1","verdict","keep",true,"2026-11-25T11:30:00Z"]'
	assert_equal "$(jq -c '[.action,.deployment,.component,(.reason|startswith("Kept:"))]' "$AUDIT")" \
		'["monitor.keep","dep-1","shop",true]'

	# A kept deployment is not judged again.
	SB_NOW=$AFTER run -0 --separate-stderr sb-monitor in.ndjson
	assert_output ''
	assert_equal "$(wc -l <"$JOURNAL")" 3
	assert_equal "$(wc -l <"$AUDIT")" 1
}

@test "variance explodes around the same mean: rollback by spread alone" {
	{ series base latency_p95_ms 11 100 5
	  series cur latency_p95_ms 4 100 30
	  steady_rps; } >in.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '.decision')" '"rollback"'
	# The location test alone would have passed: the means are equal.
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.degraded, .spread_degraded, (.degradation_pct|fabs < 1), .p_value > 0.5]')" \
		'[false,true,true,true]'
	assert_equal "$(verdict '.metrics.latency_p95_ms | [(.spread_ratio*100|round), .spread_f > 30, .spread_p_value < 1e-7]')" \
		'[515,true,true]'
	assert_equal "$(verdict '.reason')" \
		'"Rollback recommended: latency_p95_ms spread grew 5.15 times (IQR 6.554 -> 33.78, Brown-Forsythe p = 2.1e-08)."'
	# A higher --max-spread-ratio lets it through.
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --max-spread-ratio 6 in.ndjson
	assert_equal "$(verdict '[.decision, .metrics.latency_p95_ms.spread_degraded, .settings.max_spread_ratio]')" \
		'["pending",false,6]'
}

@test "--on-degrade hold, and the component's on_degrade hold: decision hold, journaled and audited" {
	degraded_input >in.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --on-degrade hold in.ndjson
	assert_equal "$(verdict '[.decision, .settings.on_degrade, (.reason|startswith("Held for a person to decide: latency_p95_ms mean rose 49.6%"))]')" \
		'["hold","hold",true]'
	assert_equal "$(tail -1 "$JOURNAL" | jq -c '[.deployment,.phase,.verdict]')" '["dep-1","verdict","hold"]'
	assert_equal "$(jq -c '[.action,.deployment,.component]' "$AUDIT")" '["monitor.hold","dep-1","shop"]'
	# Held is final: the next run leaves it alone.
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_output ''

	rm "$JOURNAL" "$AUDIT"
	deployment dep-1 shop c1
	config '"on_degrade":"hold"'
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run in.ndjson
	assert_equal "$(verdict '[.decision, .settings.on_degrade]')" '["hold","hold"]'
	# The option overrides the component.
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run --on-degrade rollback in.ndjson
	assert_equal "$(verdict '[.decision, .settings.on_degrade]')" '["rollback","rollback"]'
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict .decision)" '"hold"'
	assert_equal "$(tail -1 "$JOURNAL" | jq -c '[.phase,.verdict]')" '["verdict","hold"]'
}

@test "--test none: the threshold alone decides, p values still reported" {
	# Mean 100 -> 115 (15% worse) but half of the current values are the
	# lowest of all: Mann-Whitney sees no shift (U = 50 of 100).
	for i in 1 2 3 4 5; do
		printf '{"type":"metric","ts":"2026-11-25T09:%02d:00Z","component":"shop","metric":"latency_p95_ms","value":%s}\n' \
			$((i * 2)) 90 $((i * 2 + 1)) 110
		printf '{"type":"metric","ts":"2026-11-25T10:%02d:00Z","component":"shop","metric":"latency_p95_ms","value":%s}\n' \
			$((i * 2)) 85 $((i * 2 + 1)) 145
	done >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --max-spread-ratio 4 in.ndjson
	assert_equal "$(verdict '[.decision] + (.metrics.latency_p95_ms | [.degradation_pct, .u, .p_value > 0.05, .degraded, .spread_ratio])')" \
		'["pending",15,50,true,false,3]'
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --max-spread-ratio 4 --test none in.ndjson
	assert_equal "$(verdict '[.decision, .settings.test] + (.metrics.latency_p95_ms | [.degradation_pct, .u, .p_value > 0.05, .degraded, .spread_degraded])')" \
		'["rollback","none",15,50,true,true,false]'
	# Deviations from the median are constant in each window: F is infinite, written as null.
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.spread_f, .spread_p_value]')" '[null,0]'
	assert_equal "$(verdict .reason)" '"Rollback recommended: latency_p95_ms mean rose 15% (100 -> 115)."'
	# --test none, ratio 3 > 2: the spread rule fires on the ratio alone.
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --test none --threshold 20 in.ndjson
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.degraded, .spread_degraded]')" '[false,true]'
}

@test "too few values on a side: insufficient, and it cannot trigger" {
	degraded_input >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --min-samples 51 in.ndjson
	assert_equal "$(verdict '[.decision, .settings.min_samples] + (.metrics.latency_p95_ms | [.insufficient, .degraded, .baseline.n, (.degradation_pct|floor)])')" \
		'["pending",51,true,false,50,49]'
	assert_equal "$(verdict '.reason | endswith("(too few samples for latency_p95_ms (50 baseline, 50 current), rps (50 baseline, 50 current)).")')" true

	# Only 5 current values by 10:05:30: under the default of 10.
	SB_NOW=2026-11-25T10:05:30Z run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.insufficient, .degraded, .baseline.n, .current.n]')" \
		'[true,false,50,5]'
	# No current value at all: the numbers that need one are null.
	SB_NOW=2026-11-25T10:00:30Z run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '.metrics.rps | [.current.n, .current.mean, .degradation_pct, .u, .p_value, .spread_ratio, .spread_f, .insufficient]')" \
		'[0,null,null,null,null,null,null,true]'
}

@test "higher is better: a fall of rps degrades, a rise does not" {
	{ series base latency_p95_ms 1 100 5
	  series cur latency_p95_ms 2 100 5
	  series base rps 21 200 10
	  series cur rps 22 150 10; } >in.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '[.decision] + (.metrics.rps | [.direction, .degraded, (.degradation_pct|round), .u, .p_value < 1e-15])')" \
		'["rollback","higher",true,23,2499,true]'
	assert_equal "$(verdict '.reason')" '"Rollback recommended: rps mean fell 23.4% (199 -> 152.5, Mann-Whitney p = 3.8e-18)."'

	{ series base latency_p95_ms 1 100 5
	  series cur latency_p95_ms 2 100 5
	  series base rps 21 200 10
	  series cur rps 22 250 10; } >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '[.decision] + (.metrics.rps | [.degraded, (.degradation_pct|round), .u, .p_value > 0.99])')" \
		'["pending",false,-27,4,true]'
}

@test "--deployment judges only the ones named; an unknown one is a usage error" {
	deployment dep-2 cart c2 '"tenant":"acme"'
	deployment dep-3 shop c3
	printf '%s\n' '{"deployment":"dep-3","phase":"rollback_done","status":"rolled_back"}' >>"$JOURNAL"
	degraded_input >in.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run in.ndjson
	# dep-3 was rolled back: not under monitoring.
	assert_equal "$(jq -sc 'map(select(.type == "verdict") | .deployment)' <<<"$output")" '["dep-1","dep-2"]'
	# cart watches only latency; the series name shop, so cart has no values.
	assert_equal "$(verdict '[.decision, .tenant, (.metrics|keys), .metrics.latency_p95_ms.baseline.n]' dep-2)" \
		'["pending","acme",["latency_p95_ms"],0]'

	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --dry-run --deployment dep-2 in.ndjson
	assert_equal "$(jq -sc 'map(select(.type == "verdict") | .deployment)' <<<"$output")" '["dep-2"]'
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run --deployment dep-2 --deployment dep-1 in.ndjson
	assert_equal "$(jq -sc 'map(select(.type == "verdict") | .deployment)' <<<"$output")" '["dep-1","dep-2"]'
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --dry-run --deployment dep-3 in.ndjson
	assert_output ''
	assert_equal "$stderr" 'sb-monitor: deployment dep-3 is not under monitoring: its status is not deployed'
	SB_NOW=$DURING run -2 --separate-stderr sb-monitor --deployment dep-9 in.ndjson
	assert_equal "$stderr" "sb-monitor: --deployment: 'dep-9' is not in the deployment journal"
	# --tenant: only that tenant's deployments.
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --dry-run --tenant acme in.ndjson
	assert_equal "$(jq -sc 'map(select(.type == "verdict") | .deployment)' <<<"$output")" '["dep-2"]'
}

@test "a metric record without component counts for every deployment watching it; another component's does not" {
	deployment dep-2 cart c2
	{ series base latency_p95_ms 1 100 5 --component cart
	  series cur latency_p95_ms 3 150 5 --component cart; } >in.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run in.ndjson
	assert_equal "$(verdict '[.decision, .metrics.latency_p95_ms.baseline.n]' dep-1)" '["pending",0]'
	assert_equal "$(verdict '[.decision, .metrics.latency_p95_ms.baseline.n]' dep-2)" '["rollback",50]'
	sed 's/"component":"cart",//' in.ndjson >bare.ndjson
	SB_NOW=$DURING run -1 --separate-stderr sb-monitor --dry-run bare.ndjson
	assert_equal "$(jq -sc 'map(select(.type == "verdict") | [.deployment, .decision, .metrics.latency_p95_ms.current.n])' <<<"$output")" \
		'[["dep-1","rollback",50],["dep-2","rollback",50]]'
}

@test "--dry-run writes nothing to the journal or the audit log" {
	noise_input >in.ndjson
	cp "$JOURNAL" journal.before
	SB_NOW=$AFTER run -0 --separate-stderr sb-monitor -n in.ndjson
	assert_equal "$(verdict .decision)" '"keep"'
	cmp "$JOURNAL" journal.before
	[ ! -e "$AUDIT" ]
	degraded_input >in.ndjson
	SB_NOW=$AFTER run -1 --separate-stderr sb-monitor --dry-run --on-degrade hold in.ndjson
	assert_equal "$(verdict .decision)" '"hold"'
	cmp "$JOURNAL" journal.before
	[ ! -e "$AUDIT" ]
}

@test "records of other types are forwarded unchanged and in order, before the verdicts" {
	{ echo '{"type":"log","ts":"2026-11-25T10:02:00Z","level":"INFO","message":"a"}'
	  noise_input
	  echo '{"type":"event","ts":"2026-11-25T10:03:00Z","event":"alarm","name":"x",  "state":"OK"}'
	  echo '{"type":"verdict","deployment":"old","decision":"keep"}'; } >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "${#lines[@]}" 4
	assert_equal "${lines[0]}" '{"type":"log","ts":"2026-11-25T10:02:00Z","level":"INFO","message":"a"}'
	assert_equal "${lines[1]}" '{"type":"event","ts":"2026-11-25T10:03:00Z","event":"alarm","name":"x",  "state":"OK"}'
	assert_equal "${lines[2]}" '{"type":"verdict","deployment":"old","decision":"keep"}'
	assert_equal "$(jq -c '[.type,.deployment,.decision]' <<<"${lines[3]}")" '["verdict","dep-1","pending"]'
}

@test "a malformed metric record is named by file and line, per --on-error" {
	{ series base latency_p95_ms 1 100 5 --points 2
	  echo '{"type":"metric","ts":"yesterday","metric":"latency_p95_ms","value":1}'
	  echo '{"type":"metric","ts":"2026-11-25T10:02:00Z","metric":"latency_p95_ms","value":"fast"}'
	  echo '{"type":"metric","ts":"2026-11-25T10:02:00Z","value":3}'; } >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '.metrics.latency_p95_ms | [.baseline.n, .current.n]')" '[2,0]'
	[[ $stderr == *'sb-monitor: in.ndjson:3: metric record has no "ts" time'* ]]
	[[ $stderr == *'in.ndjson:4: metric record has no numeric "value"'* ]]
	[[ $stderr == *'in.ndjson:5: metric record has no "metric" name'* ]]

	SB_NOW=$DURING run -3 --separate-stderr sb-monitor --on-error fail in.ndjson
	assert_equal "$stderr" 'sb-monitor: in.ndjson:3: metric record has no "ts" time'
	assert_output ''
}

@test "options, environment and configuration: values and usage errors" {
	degraded_input >in.ndjson
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor --threshold 60 in.ndjson
	assert_equal "$(verdict '[.decision, .settings.threshold, .metrics.latency_p95_ms.degraded]')" '["pending",60,false]'
	SB_MONITOR_THRESHOLD=60 SB_NOW=$DURING run -0 --separate-stderr sb-monitor in.ndjson
	assert_equal "$(verdict '.settings.threshold')" 60
	printf '{"monitor":{"threshold":60,"alpha":0.01,"test":"none","min_samples":20,"max_spread_ratio":3},%s\n' \
		"$(tail -c +2 "$SB_CONFIG")" >cfg.json
	SB_NOW=$DURING run -0 --separate-stderr sb-monitor -c cfg.json in.ndjson
	assert_equal "$(verdict '.settings')" \
		'{"threshold":60,"alpha":0.01,"test":"none","min_samples":20,"max_spread_ratio":3,"on_degrade":"rollback"}'
	# Options override both.
	SB_MONITOR_ALPHA=0.02 SB_NOW=$DURING run -1 --separate-stderr sb-monitor -c cfg.json --threshold 5 -n in.ndjson
	assert_equal "$(verdict '[.decision, .settings.threshold, .settings.alpha]')" '["rollback",5,0.02]'

	for bad in '--alpha 0' '--alpha 1' '--alpha x' '--test t-test' '--min-samples 1' '--max-spread-ratio 1' \
		'--threshold -1' '--on-degrade ignore'; do
		# shellcheck disable=SC2086
		run -2 --separate-stderr sb-monitor $bad in.ndjson
		assert_output ''
		[[ $stderr == "sb-monitor: ${bad%% *}:"* ]] || fail "$bad: $stderr"
	done
	config '"metrics":{"latency_p95_ms":"sideways"}'
	# The later "metrics" member replaces the first.
	run -2 --separate-stderr sb-monitor in.ndjson
	assert_equal "$stderr" 'sb-monitor: components.shop.metrics.latency_p95_ms: direction must be "lower" or "higher"'
}
