#!/usr/bin/env bats
# The fake AWS endpoint the CloudWatch tests use: requests signed by curl's
# own SigV4 code pass its check, wrongly signed ones get AWS's errors, and
# scripted answers come in order.

setup_file() {
	load helpers/fake-aws
	fake_aws_install
}

setup() {
	load test_helper/common
	load helpers/fake-aws
}

teardown() {
	fake_aws_stop
}

LIST=GraniteServiceVersion20100801.ListMetrics
FILTER=Logs_20140328.FilterLogEvents

# call USER TARGET [BODY [CURL-OPTION]...]: POST BODY (default {}) to the fake
# as TARGET, signed by curl for USER (KEY:SECRET) in $REGION (us-east-1) for
# the target's service; prints the status and the body on one line and keeps
# the answer's headers in head.txt.
call() {
	local user=$1 target=$2 body=${3:-'{}'} service=monitoring ctype=application/x-amz-json-1.0
	shift 3 2>/dev/null || shift $#
	case $target in Logs_*) service=logs ctype=application/x-amz-json-1.1 ;; esac
	curl -sS -o answer.json -D head.txt -w '%{http_code} ' --aws-sigv4 "aws:amz:${REGION:-us-east-1}:$service" \
		--user "$user" -H "X-Amz-Target: $target" -H "Content-Type: $ctype" --data-binary "$body" "$@" "$FAKE_AWS_URL/" &&
		cat answer.json && echo
}

# header NAME: the value of header NAME in the last answer.
header() {
	tr -d '\r' <head.txt | sed -n "s/^$1: //Ip"
}

script() {
	jq -n --argjson r "$1" '{region: "us-east-1", credentials: {AKID: "SECRET"}, responses: $r}' >s.json
}

@test "a request signed by curl gets the scripted answer and is recorded" {
	script '{"GraniteServiceVersion20100801.ListMetrics": [{"Metrics": [{"Namespace": "AWS/Lambda", "MetricName": "Errors"}]}]}'
	fake_aws_start s.json
	assert_regex "$FAKE_AWS_URL" '^http://127\.0\.0\.1:[0-9]+$'
	run -0 call AKID:SECRET "$LIST" '{"Namespace":"AWS/Lambda"}'
	assert_output '200 {"Metrics":[{"Namespace":"AWS/Lambda","MetricName":"Errors"}]}'
	assert_equal "$(header content-type)" application/x-amz-json-1.0
	run -0 fake_aws_requests
	assert_equal "$(jq -c '.[] | [.target, .body, .signature_ok, .status, .headers["content-type"], .headers["x-amz-target"]]' <<<"$output")" \
		'["GraniteServiceVersion20100801.ListMetrics",{"Namespace":"AWS/Lambda"},true,200,"application/x-amz-json-1.0","GraniteServiceVersion20100801.ListMetrics"]'
	assert_regex "$(jq -r '.[0].headers.authorization' <<<"$output")" '^AWS4-HMAC-SHA256 Credential=AKID/[0-9]{8}/us-east-1/monitoring/aws4_request, SignedHeaders=.*x-amz-target'
	run -0 fake_aws_count
	assert_output 1
}

@test "a wrong secret, an unknown key, another region or service, no signature: AWS's errors" {
	script '{"GraniteServiceVersion20100801.ListMetrics": [{}]}'
	fake_aws_start s.json
	run -0 call AKID:WRONG "$LIST"
	assert_output '403 {"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}'
	assert_equal "$(header x-amzn-ErrorType)" InvalidSignatureException
	run -0 call NOBODY:SECRET "$LIST"
	assert_output --regexp '^403 \{"__type":"UnrecognizedClientException",'
	REGION=eu-west-1 run -0 call AKID:SECRET "$LIST"
	assert_output --regexp "^403 .*InvalidSignatureException.*valid region, not 'eu-west-1'"
	run -0 curl -sS --aws-sigv4 "aws:amz:us-east-1:logs" --user AKID:SECRET -H "X-Amz-Target: $LIST" \
		-H 'Content-Type: application/x-amz-json-1.0' -d '{}' "$FAKE_AWS_URL/"
	assert_output --regexp "InvalidSignatureException.*correct service: 'monitoring'"
	run -0 curl -sS -H "X-Amz-Target: $LIST" -H 'Content-Type: application/x-amz-json-1.0' -d '{}' "$FAKE_AWS_URL/"
	assert_output --regexp '"__type":"MissingAuthenticationTokenException"'
	run -0 call AKID:SECRET "$LIST"
	assert_output '200 {}'
	assert_equal "$(fake_aws_requests | jq -c '[.[] | .signature_ok]')" '[false,false,false,false,false,true]'
}

@test "a body changed after signing fails the check; the same body replayed passes" {
	script '{"GraniteServiceVersion20100801.ListMetrics": [{"Metrics": []}]}'
	fake_aws_start s.json
	curl -sS -v --aws-sigv4 "aws:amz:us-east-1:monitoring" --user AKID:SECRET -H "X-Amz-Target: $LIST" \
		-H 'Content-Type: application/x-amz-json-1.0' -d '{"Namespace":"A"}' "$FAKE_AWS_URL/" 2>trace.txt
	auth=$(tr -d '\r' <trace.txt | sed -n 's/^> Authorization: //p')
	date=$(tr -d '\r' <trace.txt | sed -n 's/^> X-Amz-Date: //p')
	replay() {
		curl -sS -w ' %{http_code}' -H "Authorization: $auth" -H "X-Amz-Date: $date" -H "X-Amz-Target: $LIST" \
			-H 'Content-Type: application/x-amz-json-1.0' -d "$1" "$FAKE_AWS_URL/"
	}
	run -0 replay '{"Namespace":"A"}'
	assert_output '{"Metrics":[]} 200'
	run -0 replay '{"Namespace":"B"}'
	assert_output --regexp 'InvalidSignatureException.* 403$'
}

@test "throttling twice, then success; the last answer repeats; strict scripts run out with 500" {
	script '{"GraniteServiceVersion20100801.ListMetrics": [
		{"status": 400, "body": {"__type": "ThrottlingException", "message": "Rate exceeded"}},
		{"status": 429, "body": {"__type": "TooManyRequestsException", "message": "slow down"}},
		{"status": 503, "body": {"message": "unavailable"}, "headers": {"Retry-After": "2"}},
		{"Metrics": [], "NextToken": "n2"},
		{"Metrics": []}]}'
	fake_aws_start s.json
	run -0 call AKID:SECRET "$LIST"
	assert_output '400 {"__type":"ThrottlingException","message":"Rate exceeded"}'
	assert_equal "$(header x-amzn-ErrorType)" ThrottlingException
	run -0 call AKID:SECRET "$LIST"
	assert_output '429 {"__type":"TooManyRequestsException","message":"slow down"}'
	run -0 call AKID:SECRET "$LIST"
	assert_output '503 {"message":"unavailable"}'
	assert_equal "$(header retry-after)" 2
	assert_equal "$(header x-amzn-ErrorType)" ""
	run -0 call AKID:SECRET "$LIST" '{"NextToken":null}'
	assert_output '200 {"Metrics":[],"NextToken":"n2"}'
	run -0 call AKID:SECRET "$LIST" '{"NextToken":"n2"}'
	assert_output '200 {"Metrics":[]}'
	run -0 call AKID:SECRET "$LIST"
	assert_output '200 {"Metrics":[]}'
	assert_equal "$(fake_aws_requests | jq -c '[.[] | .status]')" '[400,429,503,200,200,200]'

	jq '.strict = true | .responses = {"GraniteServiceVersion20100801.ListMetrics": [{"Metrics": []}]}' s.json >strict.json
	run -0 fake_aws_script strict.json
	run -0 call AKID:SECRET "$LIST"
	assert_output '200 {"Metrics":[]}'
	run -0 call AKID:SECRET "$LIST"
	assert_output --regexp '^500 \{"__type":"InternalFailure",'
	run -0 call AKID:SECRET GraniteServiceVersion20100801.DescribeAlarms
	assert_output --regexp '^400 \{"__type":"UnknownOperationException",'
	run -0 fake_aws_count
	assert_output 9
}

@test "Logs: JSON 1.1, nextToken pages, an answer with a string status is a body" {
	jq -n '{credentials: {AKID: "SECRET"}, responses: {
		"Logs_20140328.FilterLogEvents": [{events: [{message: "a"}], nextToken: "t"}, {events: [], nextToken: "u"}, {events: []}],
		"Logs_20140328.GetQueryResults": [{status: "Complete", results: []}]}}' >s.json
	fake_aws_start s.json
	run -0 call AKID:SECRET "$FILTER" '{"logGroupName":"g"}'
	assert_output '200 {"events":[{"message":"a"}],"nextToken":"t"}'
	assert_equal "$(header content-type)" application/x-amz-json-1.1
	run -0 call AKID:SECRET "$FILTER" '{"logGroupName":"g","nextToken":"t"}'
	assert_output '200 {"events":[],"nextToken":"u"}'
	run -0 call AKID:SECRET "$FILTER" '{"logGroupName":"g","nextToken":"u"}'
	assert_output '200 {"events":[]}'
	run -0 call AKID:SECRET Logs_20140328.GetQueryResults '{"queryId":"q"}'
	assert_output '200 {"status":"Complete","results":[]}'
	assert_equal "$(fake_aws_requests | jq -c '[.[] | .body.nextToken]')" '[null,"t","u",null]'
}

@test "session tokens: the scripted one passes, a missing one is refused, an expired key gets ExpiredTokenException" {
	jq -n '{credentials: {ASIA1: {secret: "S1", session_token: "tok-1"}, ASIA2: {secret: "S2", session_token: "tok-2", expired: true}},
		responses: {"Logs_20140328.StartQuery": [{queryId: "q1"}]}}' >s.json
	fake_aws_start s.json
	run -0 call ASIA1:S1 Logs_20140328.StartQuery '{}' -H 'X-Amz-Security-Token: tok-1'
	assert_output '200 {"queryId":"q1"}'
	run -0 call ASIA1:S1 Logs_20140328.StartQuery '{}'
	assert_output --regexp '^403 \{"__type":"UnrecognizedClientException",'
	run -0 call ASIA1:S1 Logs_20140328.StartQuery '{}' -H 'X-Amz-Security-Token: tok-other'
	assert_output --regexp '^403 \{"__type":"UnrecognizedClientException",'
	run -0 call ASIA2:S2 Logs_20140328.StartQuery '{}' -H 'X-Amz-Security-Token: tok-2'
	assert_output '403 {"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}'
	assert_equal "$(header x-amzn-ErrorType)" ExpiredTokenException
	assert_equal "$(fake_aws_requests | jq -c '[.[] | [.signature_ok, .error]]')" \
		'[[true,null],[false,"UnrecognizedClientException"],[false,"UnrecognizedClientException"],[false,"ExpiredTokenException"]]'
}

@test "the script may be inline JSON; a bad script stops the server with a message" {
	fake_aws_start '{"credentials": {"AKID": "SECRET"}, "responses": {"GraniteServiceVersion20100801.ListMetrics": {"Metrics": []}}}'
	run -0 call AKID:SECRET "$LIST"
	assert_output '200 {"Metrics":[]}'
	run -1 fake_aws_start '{"credentials": {"AKID": 7}}'
	assert_output --partial 'bad script: credentials.AKID'
}

@test "fake_aws_stop ends every server it started" {
	script '{}'
	fake_aws_start s.json
	first=$FAKE_AWS_PID
	fake_aws_start s.json
	second=$FAKE_AWS_PID
	kill -0 "$first"
	kill -0 "$second"
	fake_aws_stop
	run ! kill -0 "$first"
	run ! kill -0 "$second"
	assert_equal "${FAKE_AWS_URL:-}" ""
}

@test "fake_aws_install without node keeps a reason, for which fake_aws_start skips" {
	run -0 bash -c 'BATS_TEST_NAME=; source "$1"; PATH=/nonexistent; fake_aws_install; echo "$FAKE_AWS_SKIP"
		skip() { echo "skip: $1"; exit 0; }; BATS_TEST_NAME=x; fake_aws_start "{}"; echo started' _ \
		"$SB_ROOT/test/helpers/fake-aws.bash"
	assert_output - <<-EOF
		fake AWS endpoint: node and npm are needed (scripts/ensure-deps installs them)
		skip: fake AWS endpoint: node and npm are needed (scripts/ensure-deps installs them)
	EOF
}
