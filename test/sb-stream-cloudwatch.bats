#!/usr/bin/env bats
# sb-stream's CloudWatch sources against a fake AWS endpoint on loopback that
# checks every request's SigV4 signature with AWS's own signer; retries,
# the circuit breaker and its fallback.

setup_file() {
	load helpers/fake-aws
	fake_aws_install
}

setup() {
	load test_helper/common
	load helpers/fake-aws
	export SB_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
	export AWS_REGION=eu-west-1
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION AWS_ENDPOINT_URL
	now=$(date +%s)
	t0=$(( (now - 1800) / 60 * 60 ))
}

teardown() {
	fake_aws_stop
}

# script FILE JSON-RESPONSES: the fake's script with our credentials and region
script() {
	jq -n --argjson r "$2" '{credentials: {AKIDEXAMPLE: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}, region: "eu-west-1", responses: $r}' >"$1"
}

# targets: the X-Amz-Target of each request the fake received, one a line
targets() {
	fake_aws_requests | jq -r '.[].target | sub(".*\\."; "")'
}

@test "cloudwatch-metrics: GetMetricData pages become metric records; every request is signed" {
	script s.json "$(jq -n --argjson t "$t0" '{"GraniteServiceVersion20100801.GetMetricData": [
		{MetricDataResults: [{Id: "m0", Label: "Duration", Timestamps: [$t, ($t + 60)], Values: [120.5, 130], StatusCode: "PartialData"}], NextToken: "p2"},
		{MetricDataResults: [{Id: "m0", Label: "Duration", Timestamps: [($t + 120)], Values: [99], StatusCode: "Complete"}]}]}')"
	fake_aws_start s.json
	run -0 --separate-stderr sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace AWS/Lambda \
		--metric Duration --dimension FunctionName=thumbnailer --dimension tenant_id=globex --stat p95 --period 1m --since 1h
	assert_equal "${#lines[@]}" 3
	assert_equal "$(jq -c '[.type,.metric,.value,.dims.FunctionName,.tenant,.stat,.source]' <<<"${lines[0]}")" \
		'["metric","Duration",120.5,"thumbnailer","globex","p95","cloudwatch"]'
	assert_equal "$(jq -r .ts <<<"${lines[2]}")" "$(date -u -d "@$((t0 + 120))" +%Y-%m-%dT%H:%M:%SZ)"
	run -0 fake_aws_requests
	assert_equal "$(jq '[.[].signature_ok] | all' <<<"$output")" true
	assert_equal "$(jq -c '.[0].body.MetricDataQueries[0].MetricStat | [.Metric.Namespace, .Metric.MetricName, .Period, .Stat, (.Metric.Dimensions | length)]' <<<"$output")" \
		'["AWS/Lambda","Duration",60,"p95",2]'
	assert_equal "$(jq -c '[.[1].body.NextToken, (.[0].body.StartTime | type), .[0].headers["content-type"]]' <<<"$output")" \
		'["p2","number","application/x-amz-json-1.0"]'
}

@test "cloudwatch-metrics without --metric: ListMetrics, then GetMetricData in batches of 500" {
	metrics=$(jq -n '[range(0; 600) | {Namespace: "App", MetricName: "m\(.)", Dimensions: [{Name: "ServiceName", Value: "api"}]}]')
	script s.json "$(jq -n --argjson m "$metrics" --argjson t "$t0" '{
		"GraniteServiceVersion20100801.ListMetrics": [{Metrics: $m[0:400], NextToken: "n2"}, {Metrics: $m[400:]}],
		"GraniteServiceVersion20100801.GetMetricData": [
			{MetricDataResults: [{Id: "m0", Timestamps: [$t], Values: [1]}, {Id: "m499", Timestamps: [$t], Values: [2]}]},
			{MetricDataResults: [{Id: "m99", Timestamps: [$t], Values: [3]}]}]}')"
	fake_aws_start s.json
	run -0 sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace App
	assert_equal "$(jq -c '[.metric, .value]' <<<"$output" | tr -d '\n')" '["m0",1]["m499",2]["m599",3]'
	assert_equal "$(targets | tr '\n' ' ')" "ListMetrics ListMetrics GetMetricData GetMetricData "
	assert_equal "$(fake_aws_requests | jq -c '[.[2:][].body.MetricDataQueries | length]')" '[500,100]'
}

@test "cloudwatch-logs: FilterLogEvents through partial and empty pages; JSON messages parsed; levels guessed" {
	ms=$((t0 * 1000))
	script s.json "$(jq -n --argjson ms "$ms" '{"Logs_20140328.FilterLogEvents": [
		{events: [{logStreamName: "s1", timestamp: $ms, message: "{\"level\":\"error\",\"msg\":\"payment failed\",\"tenant_id\":\"acme\",\"order\":7}", eventId: "e1"}], nextToken: "a"},
		{events: [], nextToken: "b"},
		{events: [{logStreamName: "s1", timestamp: ($ms + 1000), message: "[WARNING] retrying request", eventId: "e2"},
		          {logStreamName: "s2", timestamp: ($ms + 2000), message: "START RequestId: 42", eventId: "e3"}]}]}')"
	fake_aws_start s.json
	run -0 sb-stream cloudwatch-logs --endpoint "$FAKE_AWS_URL" --group /aws/lambda/pay --filter ERROR
	assert_equal "${#lines[@]}" 3
	assert_equal "$(jq -c '[.level,.message,.tenant,.fields.order,.fields.log_group,.id]' <<<"${lines[0]}")" \
		'["ERROR","payment failed","acme",7,"/aws/lambda/pay","e1"]'
	assert_equal "$(jq -r .level <<<"${lines[1]}")" WARN
	assert_equal "$(jq -r .level <<<"${lines[2]}")" INFO
	run -0 fake_aws_requests
	assert_equal "$(jq -c '[.[0].body.logGroupName, .[0].body.filterPattern, (.[0].body.startTime > 1e12), .[0].headers["content-type"], .[1].body.nextToken, .[2].body.nextToken]' <<<"$output")" \
		'["/aws/lambda/pay","ERROR",true,"application/x-amz-json-1.1","a","b"]'
}

@test "cloudwatch-logs --checkpoint: the next run resumes at the last event, without duplicates" {
	ms=$((t0 * 1000))
	ev() { jq -nc --argjson t "$1" --arg id "$2" '{logStreamName: "s", timestamp: $t, message: ("line " + $id), eventId: $id}'; }
	script s.json "$(jq -n --argjson a "$(ev $ms e1)" --argjson b "$(ev $((ms + 5)) e2)" --argjson c "$(ev $((ms + 5)) e3)" --argjson d "$(ev $((ms + 9)) e4)" '{"Logs_20140328.FilterLogEvents": [
		{events: [$a, $b]}, {events: [$b, $c, $d]}]}')"
	fake_aws_start s.json
	run -0 sb-stream cloudwatch-logs --endpoint "$FAKE_AWS_URL" --group g --checkpoint lg
	assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "e1 e2 "
	run -0 sb-stream cloudwatch-logs --endpoint "$FAKE_AWS_URL" --group g --checkpoint lg
	assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "e3 e4 "
	# the second request started at the last event's millisecond
	assert_equal "$(fake_aws_requests | jq '.[1].body.startTime')" "$((ms + 5))"
	assert_equal "$(jq -c .cursor "$SB_STATE_DIR/cursors/lg.json")" "{\"ts\":$((ms + 9)),\"ids\":[\"e4\"]}"
}

@test "cloudwatch-logs --group-prefix lists the groups; --insights polls the query until complete" {
	script s.json "$(jq -n '{
		"Logs_20140328.DescribeLogGroups": [{logGroups: [{logGroupName: "/app/a"}], nextToken: "x"}, {logGroups: [{logGroupName: "/app/b"}]}],
		"Logs_20140328.StartQuery": [{queryId: "q1"}],
		"Logs_20140328.GetQueryResults": [{status: "Running", results: []}, {status: "Complete", results: [
			[{field: "@timestamp", value: "2026-11-24 02:00:00.000"}, {field: "@message", value: "ERROR boom"}, {field: "count", value: "3"}, {field: "@ptr", value: "xyz"}]]}]}')"
	fake_aws_start s.json
	run -0 sb-stream cloudwatch-logs --endpoint "$FAKE_AWS_URL" --group-prefix /app/ --insights 'fields @timestamp, @message | limit 5'
	assert_equal "$(jq -c '[.ts,.level,.message,.fields.count]' <<<"$output")" '["2026-11-24T02:00:00Z","ERROR","ERROR boom","3"]'
	assert_equal "$(targets | tr '\n' ' ')" "DescribeLogGroups DescribeLogGroups StartQuery GetQueryResults GetQueryResults "
	assert_equal "$(fake_aws_requests | jq -c '.[2].body | [.logGroupNames, .queryString, (.startTime < 1e11)]')" \
		'[["/app/a","/app/b"],"fields @timestamp, @message | limit 5",true]'
}

@test "cloudwatch-alarms: current states as events, cached for --cache-ttl; --checkpoint adds transitions once" {
	script s.json "$(jq -n --argjson t "$t0" '{
		"GraniteServiceVersion20100801.DescribeAlarms": [{MetricAlarms: [
			{AlarmName: "pay-errors", StateValue: "ALARM", StateReason: "Threshold crossed", StateUpdatedTimestamp: $t,
			 Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: [{Name: "FunctionName", Value: "pay"}, {Name: "tenant_id", Value: "acme"}]}]}],
		"GraniteServiceVersion20100801.DescribeAlarmHistory": [{AlarmHistoryItems: [
			{AlarmName: "pay-errors", Timestamp: $t, HistoryItemType: "StateUpdate", HistorySummary: "Alarm updated from OK to ALARM",
			 HistoryData: "{\"oldState\":{\"stateValue\":\"OK\"},\"newState\":{\"stateValue\":\"ALARM\"}}"}]}]}')"
	fake_aws_start s.json
	run -0 sb-stream cloudwatch-alarms --endpoint "$FAKE_AWS_URL" --prefix pay --checkpoint al
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -c '[.type,.event,.name,.state,.component,.tenant,.detail.reason]' <<<"${lines[0]}")" \
		'["event","alarm","pay-errors","ALARM","pay","acme","Threshold crossed"]'
	assert_equal "$(jq -c '[.state,.previous]' <<<"${lines[1]}")" '["ALARM","OK"]'
	assert_equal "$(fake_aws_requests | jq -c '.[0].body')" '{"AlarmNamePrefix":"pay"}'
	# Within the cache TTL the states come from the cache (no DescribeAlarms), and
	# the history resumes where it stopped: the same transition is not written again,
	# nor the same state within the de-duplication window.
	run -0 sb-stream cloudwatch-alarms --endpoint "$FAKE_AWS_URL" --prefix pay --checkpoint al
	assert_output ""
	assert_equal "$(targets | tr '\n' ' ')" "DescribeAlarms DescribeAlarmHistory DescribeAlarmHistory "
	# without a checkpoint the cached state is written again
	run -0 sb-stream cloudwatch-alarms --endpoint "$FAKE_AWS_URL" --prefix pay
	assert_equal "$(jq -r .name <<<"$output")" pay-errors
	assert_equal "$(targets | grep -c 'DescribeAlarms$')" 1
	run -0 sb-stream cloudwatch-alarms --endpoint "$FAKE_AWS_URL" --prefix pay --cache-ttl 0
	assert_equal "$(targets | grep -c 'DescribeAlarms$')" 2
}

@test "throttling and 5xx are retried with backoff, honouring Retry-After" {
	script s.json "$(jq -n --argjson t "$t0" '{"GraniteServiceVersion20100801.GetMetricData": [
		{status: 400, body: {__type: "ThrottlingException", message: "Rate exceeded"}},
		{status: 429, body: {__type: "TooManyRequestsException", message: "slow down"}},
		{status: 503, body: {message: "unavailable"}, headers: {"Retry-After": "1"}},
		{MetricDataResults: [{Id: "m0", Timestamps: [$t], Values: [5]}]}]}')"
	fake_aws_start s.json
	start=$(date +%s%N)
	run -0 sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_equal "$(jq .value <<<"$output")" 5
	assert_equal "$(fake_aws_requests | jq length)" 4
	[ "$elapsed" -ge 1000 ] # Retry-After: 1 was waited for
}

@test "errors: expired token, wrong region, wrong secret, missing credentials" {
	script s.json '{}'
	jq '.credentials.AKIDEXAMPLE = {secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session_token: "expired", expired: true}' s.json >t.json
	fake_aws_start t.json
	AWS_SESSION_TOKEN=expired run -4 --separate-stderr sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	assert_regex "$stderr" 'ExpiredTokenException'
	fake_aws_stop
	fake_aws_start s.json
	AWS_REGION=us-west-2 run -4 --separate-stderr sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	assert_regex "$stderr" "^sb-stream: monitoring GetMetricData at http://127.0.0.1:[0-9]+/?: "
	AWS_SECRET_ACCESS_KEY=wrong run -4 --separate-stderr sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	assert_regex "$stderr" 'InvalidSignatureException'
	[[ "$stderr" != *wrong* ]]
	run -2 --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$BATS_TEST_TMPDIR" \
		sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	assert_regex "$stderr" 'no AWS credentials'
}

@test "credentials and region from AWS_PROFILE in ~/.aws/credentials and ~/.aws/config" {
	script s.json "$(jq -n --argjson t "$t0" '{"GraniteServiceVersion20100801.GetMetricData": [{MetricDataResults: [{Id: "m0", Timestamps: [$t], Values: [1]}]}]}')"
	fake_aws_start s.json
	mkdir -p "$HOME/.aws"
	printf '[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[ops]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n' >"$HOME/.aws/credentials"
	printf '[profile ops]\nregion = eu-west-1\n' >"$HOME/.aws/config"
	run -0 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_REGION AWS_PROFILE=ops \
		sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M
	assert_equal "$(jq .value <<<"$output")" 1
}

@test "the circuit breaker opens after N failed runs, sends nothing while open, reads --fallback, then probes" {
	script s.json "$(jq -n --argjson t "$t0" '{"GraniteServiceVersion20100801.GetMetricData": [
		{status: 500, body: {message: "down"}}, {status: 500, body: {message: "down"}},
		{MetricDataResults: [{Id: "m0", Timestamps: [$t], Values: [7]}]}]}')"
	fake_aws_start s.json
	cw() { sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M --retries 0 \
		--breaker-failures 2 --breaker-cooldown 2s "$@"; }
	run -4 cw
	jq -e '.state == "closed" and .failures == 1' "$SB_STATE_DIR/breakers/cloudwatch-metrics.json"
	run -4 cw
	count=$(fake_aws_requests | jq length)
	run -4 --separate-stderr cw
	assert_regex "$stderr" 'circuit breaker open until .* after 2 failed runs; no request sent'
	assert_equal "$(fake_aws_requests | jq length)" "$count"
	echo '{"type":"metric","ts":"2026-11-24T02:00:00Z","metric":"M","value":1}' >spool.ndjson
	run -0 --separate-stderr cw --fallback "file spool.ndjson"
	assert_output '{"type":"metric","ts":"2026-11-24T02:00:00Z","metric":"M","value":1,"fallback":true}'
	assert_equal "$(fake_aws_requests | jq length)" "$count"
	jq -e '.state == "open"' "$SB_STATE_DIR/breakers/cloudwatch-metrics.json"
	sleep 2.1
	run -0 cw
	assert_equal "$(jq .value <<<"$output")" 7
	jq -e '.state == "closed" and .failures == 0' "$SB_STATE_DIR/breakers/cloudwatch-metrics.json"
}

@test "--timeout bounds the whole run" {
	script s.json '{"GraniteServiceVersion20100801.GetMetricData": [{"status": 503, "body": {"message": "busy"}, "headers": {"Retry-After": "30"}}]}'
	fake_aws_start s.json
	start=$(date +%s)
	run -4 --separate-stderr sb-stream cloudwatch-metrics --endpoint "$FAKE_AWS_URL" --namespace N --metric M --timeout 2s
	[ $(( $(date +%s) - start )) -le 5 ]
	assert_regex "$stderr" 'timeout'
}

@test "CloudWatch sources take no FILE and need their own options" {
	run -2 --separate-stderr sb-stream cloudwatch-logs x.log
	assert_equal "${stderr_lines[0]}" "sb-stream: cloudwatch-logs reads no FILE ('x.log')"
	run -2 --separate-stderr sb-stream cloudwatch-metrics
	assert_equal "${stderr_lines[0]}" "sb-stream: cloudwatch-metrics needs --namespace"
	run -2 --separate-stderr sb-stream cloudwatch-logs
	assert_equal "${stderr_lines[0]}" "sb-stream: cloudwatch-logs needs one of --group and --group-prefix"
	run -2 sb-stream cloudwatch-alarms --state SLEEPY
}

@test "AWS_ENDPOINT_URL names the endpoint; --period must be whole seconds" {
	script s.json "$(jq -n --argjson t "$t0" '{"GraniteServiceVersion20100801.GetMetricData": [{MetricDataResults: [{Id: "m0", Timestamps: [$t], Values: [4]}]}]}')"
	fake_aws_start s.json
	AWS_ENDPOINT_URL="$FAKE_AWS_URL" run -0 sb-stream cloudwatch-metrics --namespace N --metric M
	assert_equal "$(jq .value <<<"$output")" 4
	run -2 sb-stream cloudwatch-metrics --namespace N --metric M --period 1.5s
}

@test "a corrupt checkpoint or breaker file is an I/O error naming it" {
	mkdir -p "$SB_STATE_DIR/cursors" "$SB_STATE_DIR/breakers"
	echo 'not json' >"$SB_STATE_DIR/cursors/lg.json"
	run -5 --separate-stderr sb-stream cloudwatch-logs --endpoint http://127.0.0.1:9 --group g --checkpoint lg
	assert_equal "$stderr" "sb-stream: $SB_STATE_DIR/cursors/lg.json: not a checkpoint (remove it to start over)"
	echo '[]' >"$SB_STATE_DIR/breakers/cloudwatch-metrics.json"
	run -5 --separate-stderr sb-stream cloudwatch-metrics --endpoint http://127.0.0.1:9 --namespace N --metric M
	assert_equal "$stderr" "sb-stream: $SB_STATE_DIR/breakers/cloudwatch-metrics.json: not a breaker state (remove it to start over)"
}
