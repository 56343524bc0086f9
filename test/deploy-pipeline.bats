#!/usr/bin/env bats
# The whole loop after a change is validated, on the sample component of
# test/helpers/deploy.bash: sb-deploy, then synthetic metrics through
# sb-monitor into sb-rollback. A clear degradation is rolled back byte for
# byte; noise is kept.

setup_file() {
	load helpers/gen-series
	build_gen_series
}

setup() {
	load test_helper/common
	load helpers/deploy
	deploy_setup
	tree_sum shop >old.sum
	# Deployed at 10:00:00 (SB_NOW pins the clock), monitored for an hour.
	standard_change >ch.ndjson
	SB_NOW=2026-11-25T10:00:00Z run -0 sb-deploy --yes --monitor 1h ch.ndjson
	DEP=$(jq -r .id <<<"$output")
	tree_sum shop >new.sum
}

# metrics MEAN-AFTER SD-AFTER: latency an hour before (mean 100, sd 5) and after the deployment
metrics() {
	"$GEN" noise --points 50 --start 2026-11-25T09:05:00Z --metric latency_p95_ms --seed 7 --mean 100 --sd 5 \
		--component shop --unit ms
	"$GEN" noise --points 50 --start 2026-11-25T10:05:00Z --metric latency_p95_ms --seed 8 --mean "$1" --sd "$2" \
		--component shop --unit ms
}

@test "a clear degradation: sb-monitor says rollback, sb-rollback puts the old version back" {
	metrics 150 5 >m.ndjson
	SB_NOW=2026-11-25T10:58:00Z run -1 sb-monitor m.ndjson
	assert_equal "$(jq -c '[.type, .deployment, .decision]' <<<"$output")" "[\"verdict\",\"$DEP\",\"rollback\"]"
	assert_equal "$(jq -c '.metrics.latency_p95_ms | [.baseline.n, .current.n, .degraded, (.p_value < 0.001)]' <<<"$output")" \
		'[50,50,true,true]'
	run -0 sb-rollback <<<"$output"
	assert_equal "$(jq -c '[.type, .deployment, .status]' <<<"$output")" "[\"rollback\",\"$DEP\",\"rolled_back\"]"
	assert_regex "$(jq -r .reason <<<"$output")" '^verdict: Rollback recommended: latency_p95_ms'
	assert_equal "$(tree_sum shop)" "$(cat old.sum)"
	# Rolled back: nothing more to judge.
	SB_NOW=2026-11-25T10:59:00Z run -0 sb-monitor m.ndjson
	assert_output ''
}

@test "noise only: pending during the period, keep after it, and sb-rollback does nothing" {
	metrics 100 5 >m.ndjson
	SB_NOW=2026-11-25T10:58:00Z run -0 sb-monitor m.ndjson
	assert_equal "$(jq -r .decision <<<"$output")" pending
	SB_NOW=2026-11-25T11:30:00Z run -0 sb-monitor m.ndjson
	assert_equal "$(jq -r .decision <<<"$output")" keep
	run -0 sb-rollback <<<"$output"
	assert_output ''
	assert_equal "$(tree_sum shop)" "$(cat new.sum)"
	assert_equal "$(jq -r 'select(.phase == "verdict") | .verdict' "$SB_STATE_DIR/deployments.ndjson")" keep
}

@test "the variance explodes at the same mean: the spread test catches what a location test passes" {
	metrics 100 40 >m.ndjson
	SB_NOW=2026-11-25T10:58:00Z run -1 sb-monitor m.ndjson
	assert_equal "$(jq -c '[.decision, .metrics.latency_p95_ms.degraded, .metrics.latency_p95_ms.spread_degraded]' <<<"$output")" \
		'["rollback",false,true]'
	run -0 sb-rollback <<<"$output"
	assert_equal "$(tree_sum shop)" "$(cat old.sum)"
}
