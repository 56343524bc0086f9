#!/usr/bin/env bats
# sb-stream prometheus: range queries against a real Prometheus (series
# backfilled with promtool, and a live scrape of node_exporter), failures
# against a closed port and one-shot fake servers (netcat-openbsd).

# One Prometheus for the file, serving series backfilled T0 .. T0+4m, where
# T0 is a whole minute three hours ago: well inside the retention, and with
# a 1m step every evaluation lands exactly on a sample.
setup_file() {
	load helpers/servers
	export SERVER_PIDS="$BATS_FILE_TMPDIR/pids"
	if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
		export PROM_MISSING=1
		return 0
	fi
	local dir="$BATS_FILE_TMPDIR/prom" t
	export T0=$((($(date +%s) - 3 * 3600) / 60 * 60))
	mkdir -p "$dir"
	t=$T0
	cat >"$dir/series.om" <<-EOF
		# TYPE sb_test_latency gauge
		sb_test_latency{tenant_id="acme",route="/checkout"} 12.5 $t
		sb_test_latency{tenant_id="acme",route="/checkout"} 13 $((t + 60))
		sb_test_latency{tenant_id="acme",route="/checkout"} 14.25 $((t + 120))
		sb_test_latency{tenant_id="globex",route="/cart"} 100 $t
		sb_test_latency{tenant_id="globex",route="/cart"} 101 $((t + 60))
		sb_test_latency{tenant_id="globex",route="/cart"} 102 $((t + 120))
		# TYPE sb_test_ratio gauge
		sb_test_ratio{job="batch"} 0.5 $t
		sb_test_ratio{job="batch"} NaN $((t + 60))
		sb_test_ratio{job="batch"} +Inf $((t + 120))
		sb_test_ratio{job="batch"} -Inf $((t + 180))
		sb_test_ratio{job="batch"} 1e3 $((t + 240))
		# EOF
	EOF
	promtool tsdb create-blocks-from openmetrics "$dir/series.om" "$dir/data" >"$dir/promtool.log" 2>&1 ||
		{ cat "$dir/promtool.log" >&2; return 1; }
	printf 'global:\n  scrape_interval: 1m\n' >"$dir/prometheus.yml"
	PROM_PORT=$(free_port)
	export PROM_URL="http://127.0.0.1:$PROM_PORT"
	start_prometheus "$dir" "$PROM_PORT" "$dir/prometheus.yml"
}

teardown_file() {
	load helpers/servers
	SERVER_PIDS="$BATS_FILE_TMPDIR/pids" stop_servers
}

setup() {
	load test_helper/common
	load helpers/servers
	SERVER_PIDS="$BATS_TEST_TMPDIR/pids"
}

teardown() {
	stop_servers
}

require_prometheus() {
	[ -z "${PROM_MISSING:-}" ] || skip "prometheus or promtool not installed (Debian package prometheus)"
}

require_nc() {
	nc -h 2>&1 | grep -q OpenBSD || skip "nc not installed (Debian package netcat-openbsd)"
}

# ts N: the RFC 3339 time of T0 + N minutes
ts() {
	date -u -d "@$((T0 + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ
}

# window N: options for T0 .. T0 + N minutes at a 1m step
window() {
	echo --since "$T0" --until "$((T0 + $1 * 60))" --step 1m
}

@test "backfilled series: one record per sample, series then time, with tenant and dims" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query sb_test_latency \
		--tenant-label tenant_id $(window 2)
	assert_output - <<-EOF
		{"type":"metric","ts":"$(ts 0)","tenant":"globex","metric":"sb_test_latency","value":100,"dims":{"route":"/cart"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 1)","tenant":"globex","metric":"sb_test_latency","value":101,"dims":{"route":"/cart"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 2)","tenant":"globex","metric":"sb_test_latency","value":102,"dims":{"route":"/cart"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 0)","tenant":"acme","metric":"sb_test_latency","value":12.5,"dims":{"route":"/checkout"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 1)","tenant":"acme","metric":"sb_test_latency","value":13,"dims":{"route":"/checkout"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 2)","tenant":"acme","metric":"sb_test_latency","value":14.25,"dims":{"route":"/checkout"},"source":"prometheus"}
	EOF
	[ -z "$stderr" ]
}

@test "--name renames the metric; without --tenant-label every label is a dimension" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL/" --name checkout_ms \
		--query 'sb_test_latency{tenant_id="acme"}' $(window 2)
	assert_output - <<-EOF
		{"type":"metric","ts":"$(ts 0)","metric":"checkout_ms","value":12.5,"dims":{"route":"/checkout","tenant_id":"acme"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 1)","metric":"checkout_ms","value":13,"dims":{"route":"/checkout","tenant_id":"acme"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 2)","metric":"checkout_ms","value":14.25,"dims":{"route":"/checkout","tenant_id":"acme"},"source":"prometheus"}
	EOF
}

@test "a series without __name__ is named by the query text" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query 'sum(sb_test_latency)' $(window 2)
	assert_output - <<-EOF
		{"type":"metric","ts":"$(ts 0)","metric":"sum(sb_test_latency)","value":112.5,"dims":{},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 1)","metric":"sum(sb_test_latency)","value":114,"dims":{},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 2)","metric":"sum(sb_test_latency)","value":116.25,"dims":{},"source":"prometheus"}
	EOF
}

@test "NaN and infinite samples are skipped and counted on stderr" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query sb_test_ratio $(window 4)
	assert_output - <<-EOF
		{"type":"metric","ts":"$(ts 0)","metric":"sb_test_ratio","value":0.5,"dims":{"job":"batch"},"source":"prometheus"}
		{"type":"metric","ts":"$(ts 4)","metric":"sb_test_ratio","value":1000,"dims":{"job":"batch"},"source":"prometheus"}
	EOF
	assert_equal "$stderr" "sb-stream: 3 NaN or infinite samples skipped"
}

@test "several --query options run in order, and the skipped count covers them all" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query sb_test_ratio \
		--query 'sum(sb_test_latency)' --query 'sb_test_ratio * 2' $(window 4)
	assert_equal "$(jq -r '[.metric, .value] | @tsv' <<<"$output")" "$(printf '%s\t%s\n' \
		sb_test_ratio 0.5 sb_test_ratio 1000 \
		'sum(sb_test_latency)' 112.5 'sum(sb_test_latency)' 114 'sum(sb_test_latency)' 116.25 \
		'sum(sb_test_latency)' 116.25 'sum(sb_test_latency)' 116.25 \
		'sb_test_ratio * 2' 1 'sb_test_ratio * 2' 2000)"
	assert_equal "$stderr" "sb-stream: 6 NaN or infinite samples skipped"
}

@test "--tenant and --where apply to the records read" {
	require_prometheus
	run -0 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query sb_test_latency \
		--tenant-label tenant_id --tenant acme --where '.value > 12.5' $(window 2)
	assert_equal "$(jq -c '[.tenant, .ts, .value]' <<<"$output")" "$(printf '["acme","%s",%s]\n' "$(ts 1)" 13 "$(ts 2)" 14.25)"
}

@test "--since as a duration up to now: a live scrape of node_exporter" {
	require_prometheus
	command -v prometheus-node-exporter >/dev/null ||
		skip "prometheus-node-exporter not installed (Debian package prometheus-node-exporter)"
	local exporter prom limit
	exporter=$(free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$exporter" \
		--collector.disable-defaults --collector.loadavg >exporter.log 2>&1 3>&- &
	remember_pid $!
	wait_listening "$exporter" 10
	prom=$(free_port)
	mkdir -p live
	cat >live/prometheus.yml <<-EOF
		global:
		  scrape_interval: 1s
		scrape_configs:
		  - job_name: node
		    static_configs:
		      - targets: ['127.0.0.1:$exporter']
	EOF
	start_prometheus "$PWD/live" "$prom" live/prometheus.yml
	# Prometheus assigns scrape targets 5 s after start-up: the first sample comes after that.
	limit=$(deadline 15)
	until sb-stream prometheus --url "http://127.0.0.1:$prom" --query node_load1 --since 1m \
		>out.ndjson 2>err.txt && [ -s out.ndjson ]; do
		past_deadline "$limit" && { cat err.txt; fail "no node_load1 sample within 15 s"; }
		sleep 0.2
	done
	run -0 jq -e -s 'length >= 1 and all(.[];
		.type == "metric" and .metric == "node_load1" and (.value | type) == "number" and
		.dims == {"instance": "127.0.0.1:'"$exporter"'", "job": "node"} and .source == "prometheus" and
		(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")))' out.ndjson
}

@test "a PromQL syntax error exits 4 with Prometheus' error text" {
	require_prometheus
	run -4 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query 'sum(sb_test_latency' $(window 2)
	[ -z "$output" ]
	assert_regex "$stderr" "^sb-stream: prometheus $PROM_URL: query 'sum\(sb_test_latency': bad_data: .*parse error.* \(HTTP 400\)$"
}

@test "a failing query among several exits 4 after the records of those before it" {
	require_prometheus
	run -4 --separate-stderr sb-stream prometheus --url "$PROM_URL" --query sb_test_ratio --query 'rate(' $(window 4)
	assert_equal "$(jq -r '.metric' <<<"$output" | head -2 | tr '\n' ' ')" "sb_test_ratio sb_test_ratio "
	assert_regex "$stderr" "sb-stream: prometheus $PROM_URL: query 'rate\\(': bad_data: "
}

@test "a closed port exits 4: connection refused, naming the URL without credentials" {
	local port
	port=$(free_port)
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	[ -z "$output" ]
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: connection refused"
	run -4 --separate-stderr sb-stream prometheus --url "http://scott:tiger@127.0.0.1:$port/prom/" --query up
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port/prom: connection refused"
}

@test "a server that never answers: --timeout 1s exits 4, timed out" {
	require_nc
	local port start
	port=$(free_port)
	fake_http "$port" ""
	start=$SECONDS
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up --timeout 1s
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: timed out after 1s"
	[ $((SECONDS - start)) -le 4 ]
}

@test "an answer that is not JSON exits 4, with its start" {
	require_nc
	local port
	http_answer '200 OK' text/html '<html><body>Grafana</body></html>' >html.http
	port=$(free_port)
	fake_http "$port" html.http
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	[ -z "$output" ]
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: answer is not JSON: <html><body>Grafana</body></html>"

	http_answer '502 Bad Gateway' text/plain $'upstream down\n' >502.http
	port=$(free_port)
	fake_http "$port" 502.http
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: HTTP 502: upstream down"
}

@test "an error answer exits 4 with its error text; one of unexpected shape too" {
	require_nc
	local port
	http_answer '503 Service Unavailable' application/json \
		'{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}' >503.http
	port=$(free_port)
	fake_http "$port" 503.http
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: query 'up': timeout: query timed out in expression evaluation (HTTP 503)"

	http_answer '200 OK' application/json \
		'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2]]}]}}' >odd.http
	port=$(free_port)
	fake_http "$port" odd.http
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	[ -z "$output" ]
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: query 'up': unexpected answer: a sample is not [time, \"value\"]"
}

@test "an answer larger than 256 MiB is refused" {
	require_nc
	local port
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 300000000\r\n\r\n{' >big.http
	port=$(free_port)
	fake_http "$port" big.http
	run -4 --separate-stderr sb-stream prometheus --url "http://127.0.0.1:$port" --query up
	assert_equal "$stderr" "sb-stream: prometheus http://127.0.0.1:$port: answer larger than 256 MiB"
}

@test "--bearer-token-file sends the token as a bearer header and never shows it" {
	require_nc
	local port server
	http_answer '200 OK' application/json \
		'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"api"},"values":[[1795600000.25,"1"]]}]}}' >ok.http
	printf 's3cr3t-t0ken\n' >token
	port=$(free_port)
	fake_http "$port" ok.http request.txt
	server=$FAKE_PID
	run -0 --separate-stderr sb-stream prometheus -v --url "http://127.0.0.1:$port" --query 'up{job="api"}' \
		--bearer-token-file token --since 1795599000 --until 1795601000 --step 30s --timeout 5s
	assert_output '{"type":"metric","ts":"'"$(date -u -d @1795600000 +%Y-%m-%dT%H:%M:%S)"'.25Z","metric":"up","value":1,"dims":{"job":"api"},"source":"prometheus"}'
	[[ "$stderr" != *s3cr3t* ]]
	wait_gone "$server" 5 # the whole request is in request.txt once the server has ended
	run -0 grep -c -x $'Authorization: Bearer s3cr3t-t0ken\r' request.txt
	run -0 grep -x $'GET /api/v1/query_range?query=up%7Bjob%3D%22api%22%7D&start=1795599000.000&end=1795601000.000&step=30.000 HTTP/1.1\r' request.txt
	run -0 grep -x $'User-Agent: sb/[0-9.]*\r' request.txt
}

@test "a missing --bearer-token-file exits 2 before any request" {
	run -2 --separate-stderr sb-stream prometheus --url http://127.0.0.1:9 --query up --bearer-token-file nosuch
	[ -z "$output" ]
	assert_regex "$stderr" "nosuch"
}
