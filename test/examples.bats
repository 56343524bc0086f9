#!/usr/bin/env bats
# The deployment and monitoring examples: Prometheus alerting rules (checked
# and unit-tested with promtool), the CloudWatch dashboard, alarms and IAM
# policy (the policy against the API calls in the code), the crontab, the
# systemd units and the Kubernetes manifest. Tools that are not installed
# (promtool, systemd-analyze, a YAML parser, the AWS CLI) skip their part.

setup() {
	load test_helper/common
	EX="$SB_ROOT/examples"
	CW="$EX/cloudwatch"
}

# The names of the metrics sb writes: the first argument of every
# sb_selfmetric_add call in the code; nothing when no tool writes any yet.
written_metrics() {
	grep -ohE 'sb_selfmetric_add\("sb_[a-z_]+"' "$SB_ROOT"/cmd/*.c "$SB_ROOT"/lib/*.c |
		sed 's/.*("//; s/"$//' | sort -u
}

# check_metric_names NAME...: each is one that sb writes.
check_metric_names() {
	local known name
	known=$(written_metrics)
	[ -n "$known" ] || skip "no tool writes metrics/sb.prom yet"
	for name in "$@"; do
		grep -qxF "$name" <<<"$known" || fail "$name: no tool writes this metric (written: $(echo $known))"
	done
}

# A YAML parser: Debian's yq (a jq wrapper), else Python's yaml module.
yq_is_jq_wrapper() { command -v yq >/dev/null && yq --version 2>&1 | grep -q '^yq [0-9]'; }
have_yaml_parser() { yq_is_jq_wrapper || python3 -c 'import yaml' 2>/dev/null; }

# yaml_json FILE: every YAML document of FILE as one JSON array.
yaml_json() {
	if yq_is_jq_wrapper; then
		yq -c -s '[.[] | select(. != null)]' "$1"
	else
		python3 -c 'import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))' "$1"
	fi
}

# ---- Prometheus ----

@test "prometheus: promtool check rules accepts alerts.yml" {
	command -v promtool >/dev/null || skip "promtool is not installed"
	run -0 promtool check rules "$EX/prometheus/alerts.yml"
	assert_output --partial "SUCCESS: 5 rules found"
}

@test "prometheus: the unit tests of alerts_test.yml pass (each alert fires on its series and not on the others)" {
	command -v promtool >/dev/null || skip "promtool is not installed"
	run -0 promtool test rules "$EX/prometheus/alerts_test.yml"
	assert_output --partial "SUCCESS"
	# Every alert of the rules is tested both firing and not firing.
	run -0 awk '/^ *alertname: / { a = $2 } /^ *exp_alerts: \[\]$/ { quiet[a] = 1 }
		/^ *exp_alerts:$/ { fires[a] = 1 }
		END { for (a in quiet) if (a in fires) print a }' "$EX/prometheus/alerts_test.yml"
	assert_equal "$(sort <<<"$output")" "$(sed -n 's/^ *- alert: //p' "$EX/prometheus/alerts.yml" | sort)"
}

@test "prometheus: the four alerts of the issue and a failed rollback, each with a severity, a summary and a description with its value" {
	run -0 sed -n 's/^ *- alert: //p' "$EX/prometheus/alerts.yml"
	assert_output "$(printf '%s\n' SbCycleSuccessRateLow SbBreakerOpen SbRollback SbRollbackFailed SbGenerationSlow)"
	assert_equal "$(grep -c '^ *severity: \(warning\|critical\)$' "$EX/prometheus/alerts.yml")" 5
	assert_equal "$(grep -c '^ *summary: ' "$EX/prometheus/alerts.yml")" 5
	assert_equal "$(grep -c '^ *description: .*\$value' "$EX/prometheus/alerts.yml")" 5
}

@test "prometheus: the rules use only metrics that sb writes" {
	# shellcheck disable=SC2046
	check_metric_names $(grep -oE 'sb_[a-z_]+_total' "$EX/prometheus/alerts.yml" "$EX/prometheus/alerts_test.yml" |
		sed 's/.*://' | sort -u)
}

# ---- CloudWatch ----

@test "cloudwatch: every JSON file of examples/ parses" {
	local n=0 f
	while IFS= read -r f; do
		run jq -e . "$f"
		[ "$status" -eq 0 ] || fail "$f does not parse: $output"
		n=$((n + 1))
	done < <(find "$EX/" -name '*.json' | sort)
	[ "$n" -ge 4 ]
}

@test "cloudwatch: the dashboard has the five metric widgets, each complete" {
	run -0 jq -r '.widgets[] | select(.type == "metric") | .properties.title' "$CW/dashboard.json"
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --regexp '^Cycle success rate'
	assert_line --index 1 --regexp '^Generation latency'
	assert_line --index 2 --regexp '^Telemetry throughput'
	assert_line --index 3 --regexp '^Circuit breakers'
	assert_line --index 4 --regexp '^Deployments kept vs rolled back'
	# Each metric widget has its metrics, view, region, title and period.
	run -0 jq -r '.widgets[] | select(.type == "metric") | .properties
		| select((.metrics | type) != "array" or (.metrics | length) == 0 or (.view | type) != "string"
		         or (.region | type) != "string" or (.title | type) != "string" or (.period | type) != "number")
		| .title' "$CW/dashboard.json"
	assert_output ""
	# Every widget has a place on the grid (24 columns wide).
	run -0 jq -r '.widgets[] | select((.x + .width) > 24 or .height < 1) | .type' "$CW/dashboard.json"
	assert_output ""
}

# ids_check FILE JQ: JQ yields, for each widget or alarm, {ids: [...], exprs: [...]};
# prints the identifiers that an expression uses and no metric defines.
ids_check() {
	jq -r "$2"' | . as $w | .exprs[]
		| gsub("\u0027[^\u0027]*\u0027"; "")
		| [scan("[a-z][A-Za-z0-9_]*")] | .[]
		| select(. as $id | $w.ids | index($id) | not)' "$1"
}

@test "cloudwatch: every metric math expression uses ids defined beside it" {
	run -0 ids_check "$CW/dashboard.json" '.widgets[] | select(.type == "metric") | .properties.metrics
		| {ids: [.[] | .[-1] | objects | .id // empty], exprs: [.[] | .[0] | objects | .expression]}'
	assert_output ""
	run -0 ids_check "$CW/alarms.json" '.[] | {ids: [.Metrics[].Id], exprs: [.Metrics[] | .Expression // empty]}'
	assert_output ""
	# ...and that such a check would see an undefined one.
	run -0 ids_check <(echo '[{"Metrics":[{"Id":"a"},{"Id":"e","Expression":"IF(a > 0, b / a, 0)"}]}]') \
		'.[] | {ids: [.Metrics[].Id], exprs: [.Metrics[] | .Expression // empty]}'
	assert_output "b"
}

@test "cloudwatch: alarms.json holds one complete PutMetricAlarm input per Prometheus alert" {
	run -0 jq -r '.[].AlarmName' "$CW/alarms.json"
	assert_output "$(printf '%s\n' sb-cycle-success-rate-low sb-breaker-open sb-rollback sb-rollback-failed sb-generation-slow)"
	# Only the keys PutMetricAlarm takes; the required ones; one series returned;
	# every metric in the namespace SB with a period and a statistic.
	run -0 jq -r '.[] | . as $a
		| ((keys - ["AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
		            "InsufficientDataActions", "Metrics", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
		            "ComparisonOperator", "TreatMissingData", "Tags"])[] | "\($a.AlarmName): unknown key \(.)"),
		  ((["AlarmName", "Metrics", "EvaluationPeriods", "Threshold", "ComparisonOperator"] - keys)[]
		    | "\($a.AlarmName): no \(.)"),
		  (select([.Metrics[] | select(.ReturnData == true)] | length != 1) | "\(.AlarmName): not one ReturnData"),
		  (.Metrics[] | select(.MetricStat) | .MetricStat
		    | select(.Metric.Namespace != "SB" or (.Period | type) != "number" or (.Stat | type) != "string")
		    | "\($a.AlarmName): incomplete MetricStat"),
		  (select(.DatapointsToAlarm > .EvaluationPeriods) | "\(.AlarmName): DatapointsToAlarm > EvaluationPeriods")' \
		"$CW/alarms.json"
	assert_output ""
	# Each alarm names the Prometheus alert it matches, and every alert has one.
	for alert in $(sed -n 's/^ *- alert: //p' "$EX/prometheus/alerts.yml"); do
		run -0 jq -r --arg a "Prometheus: $alert\\b" '[.[] | select(.AlarmDescription | test($a))] | length' \
			"$CW/alarms.json"
		[ "$output" -eq 1 ] || fail "$alert: $output alarms name it"
	done
}

@test "cloudwatch: the AWS CLI accepts each alarm as put-metric-alarm input" {
	command -v aws >/dev/null || skip "the AWS CLI is not installed"
	# Its parameter validation runs before any request; the endpoint is a closed port.
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
	while IFS= read -r alarm; do
		run aws cloudwatch put-metric-alarm --region us-east-1 --endpoint-url http://127.0.0.1:9 \
			--cli-input-json "$alarm"
		refute_output --partial "validation"
		assert_output --partial "Could not connect to the endpoint URL"
	done < <(jq -c '.[]' "$CW/alarms.json")
}

@test "cloudwatch: the dashboard, alarms and agent use only metrics that sb writes" {
	# shellcheck disable=SC2046
	check_metric_names $(
		jq -r '.. | strings' "$CW/dashboard.json" "$CW/alarms.json" | grep -oE 'sb_[a-z_]+_total'
		jq -r '.. | .metric_selectors? // empty | .[]' "$CW/cwagent-config.json" | sed 's/^\^//; s/\$$//'
	)
	# Every metric the dashboard or the alarms read is published by the agent,
	# with the dimensions they ask for.
	run -0 jq -r --slurpfile agent "$CW/cwagent-config.json" '
		[$agent[0].logs.metrics_collected.prometheus.emf_processor.metric_declaration[]
		 | . as $d | .metric_selectors[] | {name: ltrimstr("^") | rtrimstr("$"), dims: $d.dimensions}] as $decl
		| [.. | objects | select(.MetricName) | {name: .MetricName, dims: ([.Dimensions[].Name] | sort)}]
		  + [.. | arrays | select(.[0] == "SB") | {name: .[1], dims: ([.[2:][] | strings] | [range(0; length; 2) as $i | .[$i]] | sort)}]
		| .[] | . as $m
		| select([$decl[] | select(.name == $m.name) | .dims[] | sort | select(. == $m.dims)] | length == 0)
		| "\(.name) \(.dims)"' "$CW/alarms.json" "$CW/dashboard.json"
	assert_output ""
}

# The AWS API actions the code calls, as IAM action names: every operation
# sent with the X-Amz-Target prefix of CloudWatch (cloudwatch:) or of
# CloudWatch Logs (logs:).
code_actions() {
	cat "$SB_ROOT"/lib/*.c "$SB_ROOT"/cmd/*.c |
		sed -n 's/.*METRICS_TARGET "\([A-Za-z][A-Za-z]*\)".*/cloudwatch:\1/p
			s/.*LOGS_TARGET "\([A-Za-z][A-Za-z]*\)".*/logs:\1/p
			s/.*"GraniteServiceVersion20100801\.\([A-Za-z][A-Za-z]*\)".*/cloudwatch:\1/p
			s/.*"Logs_20140328\.\([A-Za-z][A-Za-z]*\)".*/logs:\1/p' | sort -u
}

@test "cloudwatch: the IAM policy allows exactly the actions that the code calls" {
	# The code knows these two AWS JSON APIs only: another target prefix is
	# another service, whose actions this test would not see.
	run -0 bash -c "cat '$SB_ROOT'/lib/*.c '$SB_ROOT'/cmd/*.c | grep -ohE '#define [A-Z_]+_TARGET \"[^\"]*\"' | sort"
	assert_output "$(printf '%s\n' '#define LOGS_TARGET "Logs_20140328."' '#define METRICS_TARGET "GraniteServiceVersion20100801."')"
	run -0 code_actions
	code=$output
	[ "$(wc -l <<<"$code")" -ge 8 ] || fail "too few actions found in the code: $code"
	run -0 jq -r '[.Statement[] | .Action | if type == "array" then .[] else . end] | unique[]' "$CW/iam-policy.json"
	assert_output "$code"
	# Allow only, no wildcard action, no NotAction.
	run -0 jq -r '.Statement[] | select(.Effect != "Allow" or has("NotAction") or has("NotResource")
		or ([.Action] | flatten | any(contains("*")))) | .Sid' "$CW/iam-policy.json"
	assert_output ""
	# sb-stream(1)'s Permissions section lists the same actions.
	run -0 bash -c "sed -n '/^\.SS Permissions/,/^\.SH/p' '$SB_ROOT/man/sb-stream.1' |
		grep -oE '(cloudwatch|logs):[A-Za-z]+' | sort -u"
	assert_output "$code"
}

@test "cloudwatch: the old policy path is gone and the documents name the new one" {
	[ ! -e "$EX/iam-policy.json" ]
	run -0 grep -c 'examples/cloudwatch/iam-policy.json' "$SB_ROOT/README.md"
	run -0 grep -c 'examples/cloudwatch/iam\\-policy.json' "$SB_ROOT/man/sb-stream.1"
	run -1 grep -rn 'examples/iam[\\]*-policy' "$SB_ROOT/README.md" "$SB_ROOT/man"
}

# ---- cron ----

# cron_check: each line of standard input that is not blank nor a comment is
# NAME=value, or 5 time fields (numbers in range, ranges, steps, lists, names)
# and a command; prints what is wrong.
cron_check() {
	awk '
	function field_ok(f, lo, hi, names,    n, parts, i, p, r, s, a, b) {
		n = split(f, parts, ",")
		for (i = 1; i <= n; i++) {
			p = parts[i]; s = ""
			if (index(p, "/")) { s = substr(p, index(p, "/") + 1); p = substr(p, 1, index(p, "/") - 1)
				if (s !~ /^[0-9]+$/ || s + 0 < 1) return 0 }
			if (p == "*") continue
			if (names != "" && index(names, " " tolower(p) " ")) continue
			if (p ~ /^[0-9]+$/) { if (p + 0 < lo || p + 0 > hi) return 0; continue }
			if (p ~ /^[0-9]+-[0-9]+$/) { split(p, r, "-"); a = r[1] + 0; b = r[2] + 0
				if (a < lo || b > hi || a > b) return 0; continue }
			return 0
		}
		return 1
	}
	/^[ \t]*$/ || /^[ \t]*#/ { next }
	/^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
	{
		if (NF < 6) { print NR ": fewer than 6 fields: " $0; next }
		if (!field_ok($1, 0, 59, "") || !field_ok($2, 0, 23, "") || !field_ok($3, 1, 31, "") ||
		    !field_ok($4, 1, 12, " jan feb mar apr may jun jul aug sep oct nov dec ") ||
		    !field_ok($5, 0, 7, " sun mon tue wed thu fri sat "))
			print NR ": bad time fields: " $1 " " $2 " " $3 " " $4 " " $5
	}'
}

# cron_entries: the entries of the crontab, and its commented-out entries
# uncommented; cron_commands: their commands.
cron_entries() {
	sed -n 's/^#\([0-9*@]\)/\1/; /^[0-9*@]/p' "$EX/cron/crontab"
}
cron_commands() {
	cron_entries | sed -E 's/^([^ \t]+[ \t]+){5}//'
}

@test "cron: every line is a variable or 5 time fields and a command that sh parses" {
	run -0 cron_check <"$EX/cron/crontab"
	assert_output ""
	# The entries left commented out too.
	run -0 cron_entries
	[ "${#lines[@]}" -ge 3 ] || fail "too few entries: $output"
	run -0 cron_check <<<"$output"
	assert_output ""
	while IFS= read -r cmd; do
		run sh -n -c "$cmd"
		[ "$status" -eq 0 ] || fail "sh cannot parse: $cmd: $output"
		[[ $cmd != *%* || $cmd == *\\%* ]] || fail "an unescaped % (cron makes it a newline): $cmd"
	done < <(cron_commands)
	# ...and the checker sees wrong lines.
	run -0 cron_check <<<$'61 * * * * x\n*/15 * * * sb-cycle\n0 0 * 13 * y\n* * * * mon z\nA=b'
	assert_output $'1: bad time fields: 61 * * * *\n2: fewer than 6 fields: */15 * * * sb-cycle\n3: bad time fields: 0 0 * 13 *'
}

@test "cron: sb-cycle every 15 minutes, and sb-monitor | sb-rollback every 5, with PATH, SB_CONFIG and logging" {
	run -0 grep -E '^\*/15 \* \* \* \* .*sb-cycle --window 1 --max 3 2>&1 \| logger -t sb-cycle$' "$EX/cron/crontab"
	run -0 grep -E '^\*/5 \* \* \* \* \(sb-stream .*--since 2h .*\| sb-monitor \| sb-rollback\) 2>&1 \| logger -t sb-monitor$' \
		"$EX/cron/crontab"
	run -0 grep -E '^PATH=/usr/local/bin:' "$EX/cron/crontab"
	run -0 grep -E '^SB_CONFIG=/' "$EX/cron/crontab"
	run -0 grep -E '^SB_STATE_DIR=/' "$EX/cron/crontab"
}

@test "cron: sb-stream accepts the options of the crontab's watch pipelines" {
	[ -x "$SB_ROOT/bin/sb-stream" ] || skip "sb-stream is not built"
	export SB_STATE_DIR="$BATS_TEST_TMPDIR/state"
	# Every option is accepted: the run gets as far as the connection (status
	# 4), not a usage error (status 2). Port 9 (discard) is closed.
	cmd=$(cron_commands | sed -n 's/^(\(sb-stream prometheus .*\) | sb-monitor .*/\1/p')
	[ -n "$cmd" ] || fail "no sb-stream prometheus pipeline in the crontab"
	run -4 --separate-stderr sh -c "${cmd/http:\/\/127.0.0.1:9090/http://127.0.0.1:9}"
	assert_output ""
	assert_regex "$stderr" "prometheus http://127.0.0.1:9.*(refused|connect)"
	cmd=$(cron_commands | sed -n 's/.*(\(sb-stream cloudwatch-metrics .*\) | sb-monitor .*/\1/p')
	[ -n "$cmd" ] || fail "no sb-stream cloudwatch-metrics pipeline in the crontab"
	echo '{"cloudwatch": {"retries": 0}}' >config.json
	AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1 \
		AWS_ENDPOINT_URL=http://127.0.0.1:9 SB_CONFIG=config.json \
		run -4 --separate-stderr sh -c "$cmd"
	assert_regex "$stderr" "monitoring (ListMetrics|GetMetricData) at http://127.0.0.1:9"
}

@test "cron: sb-cycle knows the options of the crontab, the systemd unit and the CronJob" {
	[ -x "$SB_ROOT/bin/sb-cycle" ] || skip "sb-cycle is not built"
	run -0 sb-cycle --help
	assert_output --partial "--window"
	assert_output --partial "--max"
}

# ---- systemd ----

@test "systemd: the service and the timer have what the example promises" {
	local svc="$EX/systemd/sb-cycle.service" tmr="$EX/systemd/sb-cycle.timer" key
	for key in 'Type=oneshot' 'User=sb' 'StateDirectory=sb' 'Environment=SB_STATE_DIR=/var/lib/sb' \
		'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' \
		'CapabilityBoundingSet=' 'ExecStart=/usr/local/bin/sb-cycle --window 1 --max 3'; do
		run -0 grep -cxF "$key" "$svc"
	done
	run -0 grep -E '^ReadWritePaths=' "$svc"
	# Every component path of examples/config.json is writable.
	for path in $(jq -r '.components[].path' "$EX/config.json"); do
		run -0 grep -E "^ReadWritePaths=(.*[ ])?-?$path( |\$)" "$svc"
	done
	for key in 'OnCalendar=*:0/15' 'Persistent=true' 'Unit=sb-cycle.service' 'WantedBy=timers.target'; do
		run -0 grep -cxF "$key" "$tmr"
	done
	run -0 grep -E '^RandomizedDelaySec=[0-9]+' "$tmr"
	# Comments say why: at least one comment line per setting of [Service], roughly.
	[ "$(grep -c '^#' "$svc")" -ge "$(grep -c '^[A-Z]' "$svc")" ]
}

@test "systemd: systemd-analyze verify accepts the units, without a warning" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local bin=/bin/true
	# verify wants ExecStart's program to exist: the built sb-cycle, or true.
	[ -x "$SB_ROOT/bin/sb-cycle" ] && bin="$SB_ROOT/bin/sb-cycle"
	mkdir units
	sed "s|^ExecStart=/usr/local/bin/sb-cycle|ExecStart=$bin|" "$EX/systemd/sb-cycle.service" >units/sb-cycle.service
	cp "$EX/systemd/sb-cycle.timer" units/
	# --man=no: the man pages of Documentation= need not be installed.
	run systemd-analyze verify --man=no units/sb-cycle.service units/sb-cycle.timer
	[ "$status" -eq 0 ] || fail "status $status: $output"
	assert_output ""
	run -0 systemd-analyze calendar '*:0/15'
	assert_output --partial "Normalized form: *-*-* *:00/15:00"
}

# ---- Kubernetes ----

@test "kubernetes: the manifest's structure: documents, indentation, the settings asked for" {
	local y="$EX/kubernetes/sb-cycle-cronjob.yaml" key
	run -1 grep -n $'\t' "$y"
	# Indentation in steps of two spaces, outside the config.json block.
	run -0 awk '/config.json: \|/ { blk = 1; next } blk && /^  [^ ]/ { blk = 0 }
		!blk && !/^[ ]*#/ && match($0, /^ */) && RLENGTH % 2 { print NR ": " $0 }' "$y"
	assert_output ""
	run -0 grep -cE '^kind: ' "$y"
	assert_output 3
	for key in 'kind: ConfigMap' 'kind: PersistentVolumeClaim' 'kind: CronJob' 'apiVersion: batch/v1' \
		'concurrencyPolicy: Forbid' 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' \
		'allowPrivilegeEscalation: false' 'secretKeyRef:' 'claimName: sb-state' 'name: sb-config'; do
		run -0 grep -cE "^ *(- )?$key\$" "$y"
	done
	run -0 grep -E '^  schedule: "\*/15 \* \* \* \*"$' "$y"
}

@test "kubernetes: the manifest parses as YAML, and the CronJob holds together" {
	have_yaml_parser || skip "no YAML parser (yq, or Python's yaml module)"
	run -0 yaml_json "$EX/kubernetes/sb-cycle-cronjob.yaml"
	docs=$output
	assert_equal "$(jq -c '[.[].kind]' <<<"$docs")" '["ConfigMap","PersistentVolumeClaim","CronJob"]'
	# The configuration in the ConfigMap is JSON, and its components' paths are mounted.
	jq -r '.[] | select(.kind == "ConfigMap") | .data["config.json"]' <<<"$docs" >config.json
	run -0 jq -e '.components | length > 0' config.json
	run -0 jq -r --slurpfile cfg config.json '.[] | select(.kind == "CronJob")
		| .spec.jobTemplate.spec.template.spec as $pod
		| ($pod.containers[0]) as $c
		| ($c.volumeMounts | map(.mountPath)) as $mounts
		| (if .spec.concurrencyPolicy != "Forbid" then "concurrencyPolicy" else empty end),
		  (if ($pod.securityContext.runAsNonRoot != true) then "runAsNonRoot" else empty end),
		  (if ($c.securityContext.readOnlyRootFilesystem != true) then "readOnlyRootFilesystem" else empty end),
		  (if ($c.securityContext.allowPrivilegeEscalation != false) then "allowPrivilegeEscalation" else empty end),
		  (if ([$c.env[] | select(.valueFrom.secretKeyRef.name == "sb-secrets")] | length) == 0 then "secret env" else empty end),
		  (if ([$c.env[] | select(.value != null and (.name | test("KEY|SECRET|TOKEN")))] | length) > 0 then "secret in plain env" else empty end),
		  ($c.volumeMounts[] | .name as $n | select([$pod.volumes[] | select(.name == $n)] | length == 0) | "mount \($n) has no volume"),
		  ([$c.env[] | select(.name == "SB_STATE_DIR") | .value][0] as $s
		    | $c.volumeMounts[] | select(.mountPath == $s) | .name as $n
		    | $pod.volumes[] | select(.name == $n and .persistentVolumeClaim.claimName != "sb-state") | "state dir not on sb-state"),
		  ([$c.env[] | select(.name == "SB_CONFIG") | .value][0] as $f
		    | select(([$mounts[] | select(. + "/config.json" == $f)] | length) == 0) | "SB_CONFIG not in a mount"),
		  ($cfg[0].components[].path | select(. as $p | $mounts | index($p) | not) | "component path \(.) not mounted")' \
		<<<"$docs"
	assert_output ""
	# The same cycle as the crontab and the systemd unit.
	assert_equal "$(jq -c '.[] | select(.kind == "CronJob") | .spec.jobTemplate.spec.template.spec.containers[0] | .command + .args' <<<"$docs")" \
		'["sb-cycle","--window","1","--max","3"]'
}
