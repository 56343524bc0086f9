#!/usr/bin/env bats
# sb-stream listen: the webhook listener for Alertmanager, EventBridge and SNS,
# driven over loopback with curl. Each test starts its own listener on a free
# port, writing records to out.ndjson and messages to err.txt, and stops it by
# PID in teardown.

setup() {
	load test_helper/common
	load helpers/servers
	SERVER_PIDS="$BATS_TEST_TMPDIR/pids"
	command -v curl >/dev/null || skip "curl not installed (Debian package curl)"
	PORT=$(free_port)
	URL="http://127.0.0.1:$PORT"
}

teardown() {
	stop_servers
}

# start_listener [OPTION]...: sb-stream listen on 127.0.0.1:PORT; LISTEN_PID is its PID.
# A shell starts background commands with SIGINT ignored: env gives it back its default,
# as a terminal or a service manager would.
start_listener() {
	env --default-signal=INT sb-stream listen --addr "127.0.0.1:$PORT" "$@" >out.ndjson 2>err.txt 3>&- &
	LISTEN_PID=$!
	remember_pid "$LISTEN_PID"
	wait_listening "$PORT" 20
}

# stop_listener: SIGTERM, then wait; the exit status is in LISTEN_STATUS. The listener
# gives requests in flight 10 seconds: 30 is a margin for a loaded machine.
stop_listener() {
	kill -TERM "$LISTEN_PID" 2>/dev/null || true
	wait_gone "$LISTEN_PID" 30
	LISTEN_STATUS=0
	wait "$LISTEN_PID" || LISTEN_STATUS=$?
}

# post PATH FILE [CURL-OPTION]...: POST FILE; prints "STATUS BODY" (the body without its newline).
post() {
	local path=$1 file=$2
	shift 2
	curl -sS -o resp.txt -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$file" \
		"$@" "$URL$path" >code.txt || true
	printf '%s %s\n' "$(cat code.txt)" "$(cat resp.txt 2>/dev/null)"
}

# raw_send TEXT: send TEXT (printf escapes) on a connection of its own, then close it. The
# server may close first, having seen enough to refuse the request: write errors are expected.
raw_send() {
	(
		trap '' PIPE
		exec 4<>"/dev/tcp/127.0.0.1/$PORT" && printf "$1" >&4
	) 2>/dev/null 3>&- || true
}

# content_id FIELD...: the first 16 hex digits of the SHA-256 of the fields, each ended by a NUL.
content_id() {
	printf '%s\0' "$@" | sha256sum | cut -c1-16
}

alertmanager_payload() {
	cat >am.json <<-'EOF'
		{"version":"4","status":"firing","receiver":"sb","groupKey":"{}:{}","alerts":[
		 {"status":"firing","labels":{"alertname":"HighLatency","service":"checkout","severity":"critical","tenant_id":"acme"},
		  "annotations":{"summary":"p95 above 800ms"},"startsAt":"2026-11-24T02:00:00Z","fingerprint":"f1"},
		 {"status":"resolved","labels":{"alertname":"Errors","service":"cart"},"annotations":{},
		  "startsAt":"2026-11-24T01:00:00Z","endsAt":"2026-11-24T02:05:00Z","fingerprint":"f2"}]}
	EOF
}

alarm_event() {
	cat >alarm.json <<-'EOF'
		{"version":"0","id":"c4c1c1c9-6542-e61b-6ef0-8c4d36933a92","detail-type":"CloudWatch Alarm State Change",
		 "source":"aws.cloudwatch","account":"123456789012","time":"2026-11-24T02:00:41Z","region":"us-east-1",
		 "resources":["arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-latency"],
		 "detail":{"alarmName":"checkout-latency",
		  "configuration":{"description":"p95 latency of checkout, severity=high",
		   "metrics":[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/Lambda","name":"Duration",
		    "dimensions":{"FunctionName":"checkout","tenant_id":"acme"}},"period":300,"stat":"p95"},"returnData":true}]},
		  "previousState":{"reason":"ok","timestamp":"2026-11-24T01:00:00.000+0000","value":"OK"},
		  "state":{"reason":"Threshold Crossed","timestamp":"2026-11-24T02:00:40.989+0000","value":"ALARM"}}}
	EOF
}

# lambda_event RESULT: an EventBridge Lambda destination event, Success or Failure.
lambda_event() {
	if [ "$1" = Success ]; then
		cat >lambda.json <<-'EOF'
			{"version":"0","id":"e2b2b9c6-0001","detail-type":"Lambda Function Invocation Result - Success","source":"lambda",
			 "time":"2026-11-24T02:10:00Z","resources":["arn:aws:events:us-west-2:123456789012:event-bus/default",
			  "arn:aws:lambda:us-west-2:123456789012:function:resize:$LATEST"],
			 "detail":{"version":"1.0","timestamp":"2026-11-24T02:10:00.250Z",
			  "requestContext":{"requestId":"req-1","functionArn":"arn:aws:lambda:us-west-2:123456789012:function:resize:$LATEST",
			   "condition":"Success","approximateInvokeCount":1},
			  "requestPayload":{"tenant_id":"acme"},"responseContext":{"statusCode":200,"executedVersion":"$LATEST"},
			  "responsePayload":{"ok":true},"durationMs":412.5,"memorySizeMB":512}}
		EOF
	else
		cat >lambda.json <<-'EOF'
			{"version":"0","id":"e2b2b9c6-0002","detail-type":"Lambda Function Invocation Result - Failure","source":"lambda",
			 "time":"2026-11-24T02:11:00Z","resources":["arn:aws:lambda:us-west-2:123456789012:function:resize"],
			 "detail":{"version":"1.0","timestamp":"2026-11-24T02:11:00Z",
			  "requestContext":{"requestId":"req-2","condition":"RetriesExhausted","approximateInvokeCount":3},
			  "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
			  "responsePayload":{"errorMessage":"image too large","errorType":"RangeError","stackTrace":[]}}}
		EOF
	fi
}

# sns_wrap FILE [JQ-FILTER]: an SNS notification whose Message is FILE (through the filter).
sns_wrap() {
	jq -c "${2:-.} | {Type: \"Notification\", MessageId: \"5e1d-sns\", TopicArn: \"arn:aws:sns:us-east-1:123456789012:alarms\",
		Timestamp: \"2026-11-24T02:00:42.000Z\", Message: tojson, SignatureVersion: \"1\", Signature: \"x\"}" "$1"
}

@test "an Alertmanager payload of two alerts: 202, two event records written at once" {
	alertmanager_payload
	start_listener
	run post /alertmanager am.json
	assert_output '202 {"accepted":2}'
	run jq -c '[.event, .name, .state, .previous, .severity, .component, .tenant, .source, .ts]' out.ndjson
	assert_output - <<-'EOF'
		["alarm","HighLatency","ALARM","OK","critical","checkout","acme","alertmanager","2026-11-24T02:00:00Z"]
		["alarm","Errors","OK","ALARM",null,"cart",null,"alertmanager","2026-11-24T02:05:00Z"]
	EOF
	stop_listener
	assert_equal "$LISTEN_STATUS" 0
	assert_equal "$(cat err.txt)" ""
}

@test "/, /eventbridge and /sns take the same documents as /alertmanager" {
	# the same document is posted more than once: no de-duplication here
	alertmanager_payload
	start_listener --dedup 0
	for path in / /eventbridge /sns /anything/else; do
		run post "$path" am.json
		assert_output '202 {"accepted":2}'
	done
	assert_equal "$(wc -l <out.ndjson)" 8
}

@test "an EventBridge alarm state change: the record, its id, time, severity, component and tenant" {
	alarm_event
	start_listener
	run post /eventbridge alarm.json
	assert_output '202 {"accepted":1}'
	id=$(content_id c4c1c1c9-6542-e61b-6ef0-8c4d36933a92 checkout-latency ALARM)
	expected=$(jq -c --arg id "$id" '{type: "event", ts: "2026-11-24T02:00:40.989Z", event: "alarm",
		name: "checkout-latency", state: "ALARM", previous: "OK", severity: "high", component: "checkout",
		tenant: "acme", source: "eventbridge", detail: .detail, id: $id}' alarm.json)
	assert_equal "$(cat out.ndjson)" "$expected"
}

@test "an alarm without severity, dimensions or state timestamp: those fields left out, ts from time" {
	cat >alarm.json <<-'EOF'
		{"version":"0","id":"ev-2","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",
		 "time":"2026-11-24T03:00:00Z","detail":{"alarmName":"composite","state":{"value":"INSUFFICIENT_DATA"},
		 "configuration":{"alarmRule":"ALARM(a)"}}}
	EOF
	start_listener
	run post / alarm.json
	assert_output '202 {"accepted":1}'
	assert_equal "$(cat out.ndjson)" \
		"{\"type\":\"event\",\"ts\":\"2026-11-24T03:00:00Z\",\"event\":\"alarm\",\"name\":\"composite\",\"state\":\"INSUFFICIENT_DATA\",\"source\":\"eventbridge\",\"detail\":$(jq -c .detail alarm.json),\"id\":\"$(content_id ev-2 composite INSUFFICIENT_DATA)\"}"
}

@test "a Lambda destination event, success: a completion with duration and memory" {
	lambda_event Success
	start_listener
	run post /eventbridge lambda.json
	assert_output '202 {"accepted":1}'
	assert_equal "$(cat out.ndjson)" "$(printf '%s' '{"type":"event","ts":"2026-11-24T02:10:00.25Z","event":"completion",' \
		'"name":"resize","state":"OK","component":"resize","tenant":"acme","source":"eventbridge",' \
		'"detail":{"function":"resize","version":"$LATEST","request_id":"req-1","condition":"Success",' \
		'"status_code":200,"invoke_count":1,"errors":0,"duration_ms":412.5,"memory_mb":512},' \
		"\"id\":\"$(content_id e2b2b9c6-0001 resize OK)\"}")"
}

@test "a Lambda destination event, failure: FAILED with the error, the name from resources" {
	lambda_event Failure
	start_listener
	run post /eventbridge lambda.json
	assert_output '202 {"accepted":1}'
	run jq -c '[.event, .name, .state, .component, .detail.errors, .detail.error_type, .detail.error_message,
		.detail.condition, .detail.invoke_count, .ts, .id]' out.ndjson
	assert_output "[\"completion\",\"resize\",\"FAILED\",\"resize\",1,\"RangeError\",\"image too large\",\"RetriesExhausted\",3,\"2026-11-24T02:11:00Z\",\"$(content_id e2b2b9c6-0002 resize FAILED)\"]"
}

@test "another EventBridge event: event is its detail-type, name its source" {
	cat >ec2.json <<-'EOF'
		{"version":"0","id":"ev-3","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",
		 "time":"2026-11-24T04:00:00Z","detail":{"instance-id":"i-0abc","state":"stopped"}}
	EOF
	start_listener
	run post / ec2.json
	assert_output '202 {"accepted":1}'
	assert_equal "$(cat out.ndjson)" "$(printf '%s' '{"type":"event","ts":"2026-11-24T04:00:00Z",' \
		'"event":"EC2 Instance State-change Notification","name":"aws.ec2","source":"eventbridge",' \
		'"detail":{"instance-id":"i-0abc","state":"stopped"},' "\"id\":\"$(content_id ev-3 aws.ec2 'EC2 Instance State-change Notification')\"}")"
}

@test "an SNS notification wrapping an EventBridge alarm: the same record as unwrapped" {
	# the same document is posted more than once: no de-duplication here
	alarm_event
	sns_wrap alarm.json >sns.json
	start_listener --dedup 0
	run post /eventbridge alarm.json
	assert_output '202 {"accepted":1}'
	run post /sns sns.json
	assert_output '202 {"accepted":1}'
	assert_equal "$(sed -n 2p out.ndjson)" "$(sed -n 1p out.ndjson)"
}

@test "an SNS-wrapped alarm without an event id: the SNS MessageId makes the id" {
	alarm_event
	sns_wrap alarm.json 'del(.id)' >sns.json
	start_listener
	run post /sns sns.json
	assert_output '202 {"accepted":1}'
	run jq -r '[.name, .state, .source, .id] | @tsv' out.ndjson
	assert_output "$(printf 'checkout-latency\tALARM\teventbridge\t%s' "$(content_id 5e1d-sns checkout-latency ALARM)")"
}

@test "SNS: a Lambda completion and a CloudWatch alarm published straight to the topic" {
	lambda_event Failure
	jq -c '.detail | .requestContext.functionArn = "arn:aws:lambda:us-west-2:1:function:resize:live"' lambda.json >dest.json
	sns_wrap dest.json >sns-lambda.json
	cat >classic.json <<-'EOF'
		{"AlarmName":"orders-db-cpu","AlarmDescription":"Severity: critical","NewStateValue":"ALARM","OldStateValue":"OK",
		 "StateChangeTime":"2026-11-24T05:06:07.123+0000","Trigger":{"MetricName":"CPUUtilization","Namespace":"AWS/RDS",
		 "Dimensions":[{"value":"orders-db","name":"DBInstanceIdentifier"},{"value":"globex","name":"tenant_id"}]}}
	EOF
	sns_wrap classic.json >sns-classic.json
	start_listener
	run post /sns sns-lambda.json
	assert_output '202 {"accepted":1}'
	run post /sns sns-classic.json
	assert_output '202 {"accepted":1}'
	run jq -c '[.event, .name, .state, .previous, .severity, .component, .tenant, .source, .ts]' out.ndjson
	assert_output - <<-'EOF'
		["completion","resize","FAILED",null,null,"resize",null,"sns","2026-11-24T02:11:00Z"]
		["alarm","orders-db-cpu","ALARM","OK","critical","orders-db","globex","sns","2026-11-24T05:06:07.123Z"]
	EOF
}

@test "an SNS SubscriptionConfirmation: accepted, nothing written, the way to confirm it on stderr" {
	cat >confirm.json <<-'EOF'
		{"Type":"SubscriptionConfirmation","MessageId":"m-1","Token":"2336412f37","TopicArn":"arn:aws:sns:us-east-1:123456789012:alarms",
		 "Message":"You have chosen to subscribe to the topic","SubscribeURL":"https://sns.example/?Action=ConfirmSubscription&Token=2336412f37",
		 "Timestamp":"2026-11-24T02:00:00.000Z"}
	EOF
	start_listener
	run post /sns confirm.json
	assert_output '202 {"accepted":0}'
	assert_equal "$(cat out.ndjson)" ""
	run cat err.txt
	assert_output --partial 'arn:aws:sns:us-east-1:123456789012:alarms'
	assert_output --partial 'https://sns.example/?Action=ConfirmSubscription&Token=2336412f37'
}

@test "--token-file: 401 with WWW-Authenticate: Bearer without the token or with a wrong one" {
	# the same document is posted more than once: no de-duplication here
	alertmanager_payload
	echo 's3cret-t0ken' >token
	start_listener --dedup 0 --token-file token
	run post / am.json
	assert_output '401 {"error":"missing or wrong bearer token"}'
	run post / am.json -H 'Authorization: Bearer wrong'
	assert_output '401 {"error":"missing or wrong bearer token"}'
	run post / am.json -H 'Authorization: Bearer s3cret-t0ken-and-more'
	assert_output '401 {"error":"missing or wrong bearer token"}'
	run curl -sS -D - -o /dev/null --data-binary @am.json "$URL/"
	assert_output --partial 'WWW-Authenticate: Bearer'
	assert_equal "$(cat out.ndjson)" ""
	run post / am.json -H 'Authorization: Bearer s3cret-t0ken'
	assert_output '202 {"accepted":2}'
	# SNS can only send credentials in the URL: Basic with the token as password.
	run post / am.json -u sns:s3cret-t0ken
	assert_output '202 {"accepted":2}'
	run post / am.json -u sns:wrong
	assert_output '401 {"error":"missing or wrong bearer token"}'
	assert_equal "$(wc -l <out.ndjson)" 4
	assert_equal "$(cat err.txt)" ""
}

@test "a body over 1 MiB: 413 before it is read, and the listener goes on" {
	alertmanager_payload
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >big.json
	start_listener
	run post / big.json
	assert_output '413 {"error":"body larger than 1048576 bytes"}'
	run post / big.json -H 'Expect:'
	assert_output --regexp '^(413 \{"error":"body larger than 1048576 bytes"\}|000 )'
	head -c $((1024 * 1024)) /dev/zero | tr '\0' ' ' >limit.json
	run post / limit.json
	assert_output '400 {"error":"body is not JSON"}'
	run post / am.json
	assert_output '202 {"accepted":2}'
	assert_equal "$(wc -l <out.ndjson)" 2
}

@test "a chunked body passing the limit: the connection is closed, nothing is written" {
	head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >big.json
	alertmanager_payload
	start_listener
	run post / big.json -H 'Transfer-Encoding: chunked'
	refute_output --regexp '^202'
	run post / am.json
	assert_output '202 {"accepted":2}'
	assert_equal "$(wc -l <out.ndjson)" 2
}

@test "400 with a one-line JSON message: not JSON, not an object, not understood, a bad alert" {
	start_listener
	printf 'not json' >bad1.json
	printf '[1,2]' >bad2.json
	printf '{"hello":"world"}' >bad3.json
	printf '{"alerts":[{"labels":{}}]}' >bad4.json
	printf '{"Type":"Notification","TopicArn":"t","Message":"plain text"}' >bad5.json
	: >empty.json
	run post / bad1.json
	assert_output '400 {"error":"body is not JSON"}'
	run post / bad2.json
	assert_output '400 {"error":"body is not a JSON object"}'
	run post / bad3.json
	assert_output '400 {"error":"body is not an Alertmanager, EventBridge or SNS payload"}'
	run post / bad4.json
	assert_output '400 {"error":"alertmanager payload: alerts[0] has no alertname label"}'
	run post / bad5.json
	assert_output '400 {"error":"sns notification: Message is not JSON"}'
	run post / empty.json
	assert_output '400 {"error":"body is not JSON"}'
	assert_equal "$(cat out.ndjson)" ""
	[ "$(wc -l <resp.txt)" -eq 1 ]
}

@test "405 with Allow: POST for other methods; GET /health answers 200 ok" {
	alertmanager_payload
	start_listener
	run curl -sS -o resp.txt -w '%{http_code}' "$URL/"
	assert_output 405
	run curl -sS -o resp.txt -w '%{http_code}' -X PUT --data-binary @am.json "$URL/"
	assert_output 405
	run curl -sS -o resp.txt -w '%{http_code}' -X DELETE "$URL/alertmanager"
	assert_output 405
	run curl -sS -D - -o /dev/null -X PATCH "$URL/"
	assert_output --partial 'Allow: POST'
	run curl -sS "$URL/health"
	assert_output ok
	assert_equal "$(cat out.ndjson)" ""
}

@test "--dedup: an alert notified twice is written once, and both posts are accepted" {
	alertmanager_payload
	start_listener --dedup 1h
	run post / am.json
	assert_output '202 {"accepted":2}'
	run post / am.json
	assert_output '202 {"accepted":2}'
	assert_equal "$(wc -l <out.ndjson)" 2
}

@test "SIGTERM: the request in flight is answered and written, then exit 0 and the port is closed" {
	start_listener
	# Headers and half the body now, the rest after the signal.
	{
		printf '{"alerts":[{"status":"firing","labels":{"alertname":"SlowPost"},'
		sleep 1.5
		printf '"startsAt":"2026-11-24T02:00:00Z"}]}'
	} | curl -sS -o resp.txt -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' -T - "$URL/" >code.txt 3>&- &
	local poster=$!
	sleep 0.5
	kill -TERM "$LISTEN_PID" 2>/dev/null || true
	wait "$poster" || true
	assert_equal "$(cat code.txt) $(cat resp.txt)" '202 {"accepted":1}'
	stop_listener
	assert_equal "$LISTEN_STATUS" 0
	assert_equal "$(jq -r .name out.ndjson)" SlowPost
	run port_listening "$PORT"
	assert_failure
	assert_equal "$(cat err.txt)" ""
}

@test "SIGINT stops it too, and an idle keep-alive connection does not hold it" {
	start_listener
	exec {conn}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&"$conn"
	read -r -t 2 line <&"$conn"
	assert_equal "${line%$'\r'}" 'HTTP/1.1 200 OK'
	local start=$EPOCHREALTIME
	kill -INT "$LISTEN_PID"
	wait_gone "$LISTEN_PID" 30
	# well before the 10 seconds given to requests in flight: the idle connection is not one
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 8) }'
	exec {conn}>&-
	LISTEN_STATUS=0
	wait "$LISTEN_PID" || LISTEN_STATUS=$?
	assert_equal "$LISTEN_STATUS" 0
}

@test "hostile input does not stop it: garbage, a bad request line, a huge header, binary and deep JSON" {
	start_listener
	printf '\x00\xff\x13garbage\r\n\r\n' | curl -sS -o /dev/null --data-binary @- "$URL/" || true
	raw_send 'BLAH / HTTP/9.9\r\nContent-Length: -5\r\n\r\n'
	raw_send 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n'
	raw_send 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"alerts":'
	raw_send 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'
	head -c 200000 /dev/zero | tr '\0' a >hdr.txt
	# a 200 kB header, from a file: too long for a command line
	{ printf 'X-Big: '; cat hdr.txt; echo; } >hdr.conf
	curl -sS -o /dev/null -H @hdr.conf --data-binary '{}' "$URL/" || true
	curl -sS -o /dev/null -H 'Authorization: Basic ====' --data-binary '{}' "$URL/" || true
	head -c 100000 /dev/urandom >random.bin
	run post / random.bin
	assert_output --regexp '^400 '
	{ printf '{"alerts":'; head -c 100000 /dev/zero | tr '\0' '['; } >deep.json
	run post / deep.json
	assert_output --regexp '^400 '
	printf '{"Type":"Notification","TopicArn":"t","Message":"{\\"detail-type\\":\\"CloudWatch Alarm State Change\\",\\"detail\\":{\\"alarmName\\":7,\\"state\\":[]}}"}' >odd.json
	run post / odd.json
	assert_output '400 {"error":"sns notification: cloudwatch alarm event has no detail.alarmName"}'
	run curl -sS "$URL/health"
	assert_output ok
	stop_listener
	assert_equal "$LISTEN_STATUS" 0
	assert_equal "$(cat out.ndjson)" ""
}

@test "a bad --addr is a usage error; an address in use fails with exit 5 naming it" {
	run -2 --separate-stderr sb-stream listen --addr 127.0.0.1
	assert_output ""
	[[ $stderr == *127.0.0.1* ]]
	run -2 --separate-stderr sb-stream listen --addr 127.0.0.1:99999
	[[ $stderr == *99999* ]]
	run -2 --separate-stderr sb-stream listen --addr ::1:9099
	[[ $stderr == *brackets* ]]
	start_listener
	run -5 --separate-stderr sb-stream listen --addr "127.0.0.1:$PORT"
	assert_equal "$stderr" "sb-stream: cannot listen on 127.0.0.1:$PORT: Address already in use"
}

@test "[::1]:PORT listens on IPv6 loopback" {
	grep -q . /proc/net/if_inet6 2>/dev/null || skip "no IPv6 on this machine"
	sb-stream listen --addr "[::1]:$PORT" >out.ndjson 2>err.txt 3>&- &
	LISTEN_PID=$!
	remember_pid "$LISTEN_PID"
	wait_listening "$PORT" || skip "cannot listen on ::1"
	run curl -sS -g "http://[::1]:$PORT/health"
	assert_output ok
	stop_listener
	assert_equal "$LISTEN_STATUS" 0
}

# The load test: 200 posters at once, each one curl sending 25 requests of
# two alerts over a kept-alive connection, 10,000 events in all. Every
# request has its own path, so each 202 names the events it accepted.
@test "load: 200 concurrent posters, 10,000 events, each accepted event written exactly once" {
	start_listener
	mkdir cfg
	awk -v url="$URL" 'BEGIN {
		for (p = 0; p < 200; p++) {
			f = sprintf("cfg/%03d", p)
			for (r = 0; r < 25; r++) {
				if (r) print "next" >f
				printf "url = \"%s/load/%d-%d\"\n", url, p, r >f
				print "output = \"/dev/null\"" >f
				print "header = \"Content-Type: application/json\"" >f
				print "write-out = \"%{http_code} %{url_effective}\\n\"" >f
				printf "data-binary = \"{\\\"alerts\\\":[" >f
				for (a = 0; a < 2; a++)
					printf "%s{\\\"status\\\":\\\"firing\\\",\\\"labels\\\":{\\\"alertname\\\":\\\"load-%d-%d-%d\\\"},\\\"startsAt\\\":\\\"2026-11-24T02:00:00Z\\\"}", (a ? "," : ""), p, r, a >f
				print "]}\"" >f
			}
			close(f)
		}
	}'
	local start=$SECONDS
	ls cfg/* | timeout 120 xargs -P 200 -n 1 curl -sS -K >codes.txt 2>curl-errors.txt 3>&- || true
	local took=$((SECONDS - start))
	# every request accepted
	assert_equal "$(grep -c '^202 ' codes.txt)" 5000
	# every accepted event written once, and nothing else
	sed -n 's|^202 .*/load/\(.*\)$|load-\1-0\nload-\1-1|p' codes.txt | sort >accepted.txt
	jq -r .name out.ndjson | sort >written.txt
	assert_equal "$(wc -l <written.txt)" 10000
	run diff accepted.txt written.txt
	assert_success
	assert_equal "$(jq -r .id out.ndjson | sort -u | wc -l)" 10000
	[ "$took" -lt 90 ]
	stop_listener
	assert_equal "$LISTEN_STATUS" 0
}

@test "a write error answers 503, not 202, and ends the listener with status 5" {
	alertmanager_payload
	env --default-signal=INT sb-stream listen --addr "127.0.0.1:$PORT" --dedup 0 >/dev/full 2>err.txt 3>&- &
	LISTEN_PID=$!
	remember_pid "$LISTEN_PID"
	wait_listening "$PORT" 20
	run post / am.json
	assert_output --partial '503 '
	wait_gone "$LISTEN_PID" 30
	LISTEN_STATUS=0
	wait "$LISTEN_PID" || LISTEN_STATUS=$?
	assert_equal "$LISTEN_STATUS" 5
	assert_equal "$(cat err.txt)" "sb-stream: write error on standard output: No space left on device"
}
