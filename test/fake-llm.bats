#!/usr/bin/env bats
# The fake language-model server sb-gen's tests use: OpenAI's and Anthropic's
# shapes, their errors, the key and body checks, the script's order, and the
# control endpoints, checked with curl before sb-gen relies on it.

setup() {
	load test_helper/common
	load helpers/fake-llm
}

teardown() {
	fake_llm_stop
}

KEY=sk-test-0123456789abcdef

# openai BODY [CURL-OPTION]...: POST BODY to $FAKE_LLM_URL$P (P defaults to
# /v1/chat/completions) with the bearer key $KEY; prints the status and the
# body on one line and keeps the answer's headers in head.txt.
openai() {
	local body=$1
	shift
	curl -sS -o answer.json -D head.txt -w '%{http_code} ' -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@" "$FAKE_LLM_URL${P:-/v1/chat/completions}" &&
		cat answer.json && echo
}

# anthropic BODY [CURL-OPTION]...: the same for POST /v1/messages with x-api-key
# and anthropic-version.
anthropic() {
	local body=$1
	shift
	curl -sS -o answer.json -D head.txt -w '%{http_code} ' -H "x-api-key: $KEY" -H 'anthropic-version: 2023-06-01' \
		-H 'content-type: application/json' --data-binary "$body" "$@" "$FAKE_LLM_URL/v1/messages" &&
		cat answer.json && echo
}

# header NAME: the value of header NAME in the last answer.
header() {
	tr -d '\r' <head.txt | sed -n "s/^$1: //Ip"
}

# answer FILTER: jq FILTER applied to the last answer's body, compact.
answer() {
	jq -c "$1" answer.json
}

CHAT='{"model":"gpt-test","messages":[{"role":"system","content":"You edit code."},{"role":"user","content":"Fix the timeout."}],"temperature":0.2,"max_tokens":512}'
MSG='{"model":"claude-test","max_tokens":512,"system":"You edit code.","messages":[{"role":"user","content":"Fix the timeout."}]}'

@test "OpenAI: a chat completion in OpenAI's shape, on /chat/completions and /v1/chat/completions" {
	fake_llm_start "{\"key\": \"$KEY\", \"answers\": [{\"text\": \"first\"}, {\"text\": \"second\", \"usage\": {\"prompt_tokens\": 7, \"completion_tokens\": 3}}]}"
	assert_regex "$FAKE_LLM_URL" '^http://127\.0\.0\.1:[0-9]+$'
	kill -0 "$FAKE_LLM_PID"
	run -0 openai "$CHAT"
	assert_output --regexp '^200 \{'
	assert_equal "$(header content-type)" application/json
	assert_equal "$(answer '[.object, .model, (.choices | length), .choices[0].index, .choices[0].message, .choices[0].finish_reason]')" \
		'["chat.completion","gpt-test",1,0,{"role":"assistant","content":"first","refusal":null},"stop"]'
	assert_regex "$(answer .id)" '^"chatcmpl-'
	assert_equal "$(answer '.created | type')" '"number"'
	# Usage estimated from bytes, four to a token: 14 + 1 + 16 bytes of prompt, 5 of answer.
	assert_equal "$(answer .usage)" '{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}'
	P=/chat/completions run -0 openai "$CHAT"
	assert_equal "$(answer '[.choices[0].message.content, .usage]')" \
		'["second",{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}]'
	run -0 fake_llm_requests
	assert_equal "$(jq -c '[.[] | [.method, .path, .api, .status, .queue, .answer, .headers.authorization, .headers["content-type"]]]' <<<"$output")" \
		"[[\"POST\",\"/v1/chat/completions\",\"openai\",200,\"*\",0,\"Bearer $KEY\",\"application/json\"],[\"POST\",\"/chat/completions\",\"openai\",200,\"*\",1,\"Bearer $KEY\",\"application/json\"]]"
	assert_equal "$(jq -c '.[0].body' <<<"$output")" "$CHAT"
	run -0 fake_llm_count
	assert_output 2
}

@test "Anthropic: a message in Anthropic's shape, with the system prompt at the top level" {
	fake_llm_start "{\"key\": \"$KEY\", \"answers\": [{\"text\": \"done\"}, {\"text\": [\"a\", \"b\"], \"stop_reason\": \"max_tokens\", \"usage\": {\"input_tokens\": 9, \"output_tokens\": 4}}]}"
	run -0 anthropic "$MSG"
	assert_output --regexp '^200 \{'
	assert_equal "$(answer '[.type, .role, .model, .content, .stop_reason, .usage.input_tokens, .usage.output_tokens]')" \
		'["message","assistant","claude-test",[{"type":"text","text":"done"}],"end_turn",8,1]'
	assert_regex "$(answer .id)" '^"msg_'
	assert_regex "$(header request-id)" '^req_'
	run -0 anthropic "$MSG"
	assert_equal "$(answer '[.content, .stop_reason, .usage.input_tokens, .usage.output_tokens]')" \
		'[[{"type":"text","text":"a"},{"type":"text","text":"b"}],"max_tokens",9,4]'
	run -0 fake_llm_requests
	assert_equal "$(jq -c '.[0] | [.path, .api, .status, .headers["x-api-key"], .headers["anthropic-version"], .body.system, .body.max_tokens]' <<<"$output")" \
		"[\"/v1/messages\",\"anthropic\",200,\"$KEY\",\"2023-06-01\",\"You edit code.\",512]"
	run -0 fake_llm_count anthropic
	assert_output 2
	run -0 fake_llm_count openai
	assert_output 0
}

@test "the key: missing or wrong gets 401 in each API's shape, never echoing the key whole" {
	fake_llm_start "{\"key\": \"$KEY\", \"answers\": [{\"text\": \"ok\"}]}"
	run -0 curl -sS -w ' %{http_code}' -H 'Content-Type: application/json' -d "$CHAT" "$FAKE_LLM_URL/v1/chat/completions"
	assert_output --regexp '^\{"error":\{"message":"You didn.t provide an API key\..*","type":"invalid_request_error","param":null,"code":null\}\} 401$'
	KEY=sk-wrong-key-99999999 run -0 openai "$CHAT"
	assert_output --regexp '^401 \{"error":\{"message":"Incorrect API key provided: sk-\*+9999\. .*","type":"invalid_request_error","param":null,"code":"invalid_api_key"\}\}$'
	refute_output --partial sk-wrong-key-99999999
	run -0 curl -sS -w ' %{http_code}' -H "Authorization: $KEY" -H 'Content-Type: application/json' -d "$CHAT" "$FAKE_LLM_URL/v1/chat/completions"
	assert_output --regexp '"code":"invalid_api_key".* 401$'
	run -0 curl -sS -w ' %{http_code}' -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' -d "$MSG" "$FAKE_LLM_URL/v1/messages"
	assert_output '{"type":"error","error":{"type":"authentication_error","message":"x-api-key header is required"}} 401'
	KEY=wrong run -0 anthropic "$MSG"
	assert_output '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
	# A bearer key does not open the Anthropic API.
	run -0 curl -sS -w ' %{http_code}' -H "Authorization: Bearer $KEY" -H 'anthropic-version: 2023-06-01' \
		-H 'Content-Type: application/json' -d "$MSG" "$FAKE_LLM_URL/v1/messages"
	assert_output --regexp '"authentication_error".* 401$'
	run -0 openai "$CHAT"
	assert_output --regexp '^200 '
	run -0 anthropic "$MSG"
	assert_output --regexp '^200 '
	assert_equal "$(fake_llm_requests | jq -c '[.[] | [.status, .error]]')" \
		'[[401,"invalid_request_error"],[401,"invalid_request_error"],[401,"invalid_request_error"],[401,"authentication_error"],[401,"authentication_error"],[401,"authentication_error"],[200,null],[200,null]]'
	# Rejected requests use up no answer.
	assert_equal "$(fake_llm_requests | jq -c '[.[] | .answer]')" '[null,null,null,null,null,null,0,1]'
}

@test "a script without a key takes any key or none" {
	fake_llm_start '{"answers": {"text": "ok"}}'
	run -0 curl -sS -H 'Content-Type: application/json' -d "$CHAT" "$FAKE_LLM_URL/chat/completions"
	assert_equal "$(jq -r '.choices[0].message.content' <<<"$output")" ok
	KEY=anything run -0 anthropic "$MSG"
	assert_output --regexp '^200 .*"text":"ok"'
}

@test "OpenAI: method, path, content type, JSON and required fields are checked" {
	fake_llm_start '{"answers": [{"text": "ok"}]}'
	run -0 curl -sS -w ' %{http_code}' "$FAKE_LLM_URL/v1/chat/completions"
	assert_output '{"error":{"message":"Invalid method for URL (GET /v1/chat/completions)","type":"invalid_request_error","param":null,"code":null}} 405'
	P=/v2/chat/completions run -0 openai "$CHAT"
	assert_output '404 {"error":{"message":"Invalid URL (POST /v2/chat/completions)","type":"invalid_request_error","param":null,"code":null}}'
	P=/v1/v1/chat/completions run -0 openai "$CHAT"
	assert_output --regexp '^404 '
	run -0 curl -sS -w ' %{http_code}' -H 'Content-Type: text/plain' -d "$CHAT" "$FAKE_LLM_URL/v1/chat/completions"
	assert_output --regexp '"message":"Invalid Content-Type header \(text/plain\), expected application/json\.".* 400$'
	run -0 openai '{"model": "m", "messages": ['
	assert_output --regexp '^400 \{"error":\{"message":"We could not parse the JSON body of your request\.'
	run -0 openai '{"messages":[{"role":"user","content":"x"}]}'
	assert_output '400 {"error":{"message":"you must provide a model parameter","type":"invalid_request_error","param":null,"code":null}}'
	run -0 openai '{"model":"m"}'
	assert_output "400 {\"error\":{\"message\":\"Missing required parameter: 'messages'.\",\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"missing_required_parameter\"}}"
	run -0 openai '{"model":"m","messages":[]}'
	assert_output --regexp '^400 .*"code":"empty_array"'
	run -0 openai '{"model":"m","messages":[{"role":"robot","content":"x"}]}'
	assert_output --regexp "^400 .*Invalid value: 'robot'.*\"param\":\"messages\\[0\\]\\.role\",\"code\":\"invalid_value\""
	run -0 openai '{"model":"m","messages":[{"role":"user"}]}'
	assert_output --regexp "^400 .*Missing required parameter: 'messages\\[0\\]\\.content'"
	run -0 openai '{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}'
	assert_output --regexp '^400 .*"param":"temperature","code":"decimal_above_max_value"'
	run -0 openai '{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}'
	assert_output --regexp '^400 .*"param":"max_tokens"'
	run -0 openai '{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}'
	assert_output --regexp '^200 '
	run -0 fake_llm_requests
	assert_equal "$(jq -c '[.[] | .status]' <<<"$output")" '[405,404,404,400,400,400,400,400,400,400,400,400,200]'
	assert_equal "$(jq -c '.[4].body' <<<"$output")" '"{\"model\": \"m\", \"messages\": ["'
	assert_equal "$(jq -c '.[0] | [.method, .body]' <<<"$output")" '["GET",null]'
}

@test "Anthropic: anthropic-version, max_tokens and the roles are checked" {
	fake_llm_start '{"answers": [{"text": "ok"}]}'
	run -0 curl -sS -w ' %{http_code}' -H 'x-api-key: k' -H 'content-type: application/json' -d "$MSG" "$FAKE_LLM_URL/v1/messages"
	assert_output '{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}} 400'
	run -0 curl -sS -w ' %{http_code}' -H 'x-api-key: k' -H 'anthropic-version: 1999-01-01' -H 'content-type: application/json' \
		-d "$MSG" "$FAKE_LLM_URL/v1/messages"
	assert_output '{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: \"1999-01-01\" is not a valid version"}} 400'
	run -0 anthropic '{"model":"c","messages":[{"role":"user","content":"x"}]}'
	assert_output '400 {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}'
	run -0 anthropic '{"max_tokens":10,"messages":[{"role":"user","content":"x"}]}'
	assert_output --regexp '^400 .*"model: Field required"'
	run -0 anthropic '{"model":"c","max_tokens":10}'
	assert_output --regexp '^400 .*"messages: Field required"'
	run -0 anthropic '{"model":"c","max_tokens":10,"messages":[{"role":"system","content":"s"},{"role":"user","content":"x"}]}'
	assert_output --regexp '^400 .*Unexpected role \\"system\\"\. The Messages API accepts a top-level `system` parameter'
	run -0 anthropic '{"model":"c","max_tokens":10,"system":{"x":1},"messages":[{"role":"user","content":"x"}]}'
	assert_output --regexp '^400 .*"system: Input should be a valid string"'
	run -0 anthropic '{"model":"c","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"x"}]}'
	assert_output --regexp '^400 .*"temperature: Input should be less than or equal to 1"'
	run -0 anthropic 'not json'
	assert_output --regexp '^400 \{"type":"error","error":\{"type":"invalid_request_error","message":"There was an error parsing'
	run -0 curl -sS -w ' %{http_code}' -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' -H 'content-type: text/plain' \
		-d "$MSG" "$FAKE_LLM_URL/v1/messages"
	assert_output '{"type":"error","error":{"type":"invalid_request_error","message":"content-type: expected application/json, got text/plain"}} 400'
	run -0 curl -sS -w ' %{http_code}' -H 'x-api-key: k' "$FAKE_LLM_URL/v1/messages"
	assert_output --regexp '^\{"type":"error","error":\{"type":"invalid_request_error","message":"Method Not Allowed: GET /v1/messages"\}\} 405$'
	run -0 anthropic '{"model":"c","max_tokens":10,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}'
	assert_output --regexp '^200 '
}

@test "script checks: require_field, forbid_field, model and fields, for both APIs or per API" {
	fake_llm_start '{"checks": {"model": "gpt-test", "openai": {"require_field": "max_completion_tokens", "forbid_field": ["max_tokens"], "fields": {"temperature": 0.2}},
		"anthropic": {"model": "claude-test", "require_field": "system"}}, "answers": [{"text": "ok"}]}'
	run -0 openai "$CHAT"
	assert_output "400 {\"error\":{\"message\":\"Missing required parameter: 'max_completion_tokens'.\",\"type\":\"invalid_request_error\",\"param\":\"max_completion_tokens\",\"code\":\"missing_required_parameter\"}}"
	run -0 openai "$(jq -c '.max_completion_tokens = 512' <<<"$CHAT")"
	assert_output "400 {\"error\":{\"message\":\"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.\",\"type\":\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":\"unsupported_parameter\"}}"
	run -0 openai "$(jq -c '.max_completion_tokens = 512 | del(.max_tokens) | .temperature = 0.7' <<<"$CHAT")"
	assert_output --regexp "^400 .*fake-llm: 'temperature' is 0.7, the script expects 0.2"
	run -0 openai "$(jq -c '.max_completion_tokens = 512 | del(.max_tokens) | .model = "gpt-other"' <<<"$CHAT")"
	assert_output '404 {"error":{"message":"The model `gpt-other` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}'
	run -0 openai "$(jq -c '.max_completion_tokens = 512 | del(.max_tokens)' <<<"$CHAT")"
	assert_output --regexp '^200 '
	run -0 anthropic "$(jq -c 'del(.system)' <<<"$MSG")"
	assert_output '400 {"type":"error","error":{"type":"invalid_request_error","message":"system: Field required"}}'
	run -0 anthropic "$(jq -c '.model = "gpt-test"' <<<"$MSG")"
	assert_output '404 {"type":"error","error":{"type":"not_found_error","message":"model: gpt-test"}}'
	run -0 anthropic "$MSG"
	assert_output --regexp '^200 '

	fake_llm_script '{"checks": {"forbid_field": "temperature"}, "answers": [{"text": "ok"}]}'
	run -0 anthropic "$(jq -c '.temperature = 0.5' <<<"$MSG")"
	assert_output '400 {"type":"error","error":{"type":"invalid_request_error","message":"temperature: Extra inputs are not permitted"}}'
	run -0 openai "$CHAT"
	assert_output --regexp "^400 .*Unsupported parameter: 'temperature' is not supported with this model\.\""
}

@test "errors: 429 with Retry-After, 500, 529, a quota error, a scripted body, each in the API's shape" {
	fake_llm_start '{"answers": {
		"openai": [{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 500},
			{"status": 429, "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "You exceeded your current quota."}},
			{"status": 503, "body": {"error": {"message": "busy", "type": "server_error", "param": null, "code": null}}, "headers": {"retry-after-ms": "250"}},
			{"text": "ok"}],
		"anthropic": [{"status": 529}, {"status": 429, "headers": {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}}, {"status": 500}, {"status": 401}, {"text": "ok"}]}}'
	run -0 openai "$CHAT"
	assert_output '429 {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}'
	assert_equal "$(header retry-after)" 1
	run -0 openai "$CHAT"
	assert_output '500 {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}'
	run -0 openai "$CHAT"
	assert_output '429 {"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}'
	run -0 openai "$CHAT"
	assert_output '503 {"error":{"message":"busy","type":"server_error","param":null,"code":null}}'
	assert_equal "$(header retry-after-ms)" 250
	run -0 openai "$CHAT"
	assert_output --regexp '^200 '

	run -0 anthropic "$MSG"
	assert_output '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
	run -0 anthropic "$MSG"
	assert_output --regexp '^429 \{"type":"error","error":\{"type":"rate_limit_error","message":'
	assert_equal "$(header retry-after)" 'Wed, 21 Oct 2015 07:28:00 GMT'
	run -0 anthropic "$MSG"
	assert_output '500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}'
	run -0 anthropic "$MSG"
	assert_output '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
	run -0 anthropic "$MSG"
	assert_output --regexp '^200 '
	# Scripted errors are not the fake's own: no error recorded.
	assert_equal "$(fake_llm_requests | jq -c '[.[] | [.api, .queue, .answer, .status, .error]] | .[0], .[5]')" \
		"$(printf '%s\n' '["openai","openai",0,429,null]' '["anthropic","anthropic",0,529,null]')"
}

@test "answers come in order and the last repeats; strict scripts run out with 500" {
	fake_llm_start '{"answers": [{"text": "one"}, {"text": "two"}, {"text": "three"}]}'
	for want in one two three three three; do
		run -0 openai "$CHAT"
		assert_equal "$(answer '.choices[0].message.content')" "\"$want\""
	done
	# Without per-API lists both APIs share one list.
	run -0 anthropic "$MSG"
	assert_equal "$(answer '.content[0].text')" '"three"'
	fake_llm_script '{"strict": true, "answers": [{"text": "only"}]}'
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"only"'
	run -0 openai "$CHAT"
	assert_output '500 {"error":{"message":"fake-llm: the scripted answers for * are used up (strict)","type":"server_error","param":null,"code":null}}'
	run -0 anthropic "$MSG"
	assert_output '500 {"type":"error","error":{"type":"api_error","message":"fake-llm: the scripted answers for * are used up (strict)"}}'
	run -0 fake_llm_count
	assert_output 9
}

@test "per-API, per-path and routed lists keep their own order" {
	fake_llm_start '{"answers": {"/chat/completions": [{"text": "short path"}], "openai": [{"text": "o1"}, {"text": "o2"}], "anthropic": {"text": "a"}},
		"routes": [{"contains": "opportunity B", "answers": [{"text": "for B", "delay_ms": 300}]}]}'
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"o1"'
	P=/chat/completions run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"short path"'
	run -0 anthropic "$MSG"
	assert_equal "$(answer '.content[0].text')" '"a"'
	run -0 openai "$(jq -c '.messages[1].content = "Goal: opportunity B"' <<<"$CHAT")"
	assert_equal "$(answer '.choices[0].message.content')" '"for B"'
	run -0 anthropic "$(jq -c '.system = "about opportunity B"' <<<"$MSG")"
	assert_equal "$(answer '.content[0].text')" '"for B"'
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"o2"'
	assert_equal "$(fake_llm_requests | jq -c '[.[] | [.queue, .answer]]')" \
		'[["openai",0],["/chat/completions",0],["anthropic",0],["route 0",0],["route 0",1],["openai",1]]'
	# Concurrent requests: the routed one, slower, ends last whatever the order.
	curl -sS -o b.json -H 'Content-Type: application/json' -d "$(jq -c '.messages[1].content = "opportunity B"' <<<"$CHAT")" \
		"$FAKE_LLM_URL/v1/chat/completions" 3>&- &
	slow=$!
	sleep 0.05
	curl -sS -o a.json -H 'Content-Type: application/json' -d "$CHAT" "$FAKE_LLM_URL/chat/completions"
	kill -0 "$slow"
	wait "$slow"
	assert_equal "$(jq -c '.choices[0].message.content' a.json b.json)" "$(printf '"short path"\n"for B"')"
	fake_llm_script '{"answers": {"anthropic": {"text": "a"}}}'
	run -0 openai "$CHAT"
	assert_output '500 {"error":{"message":"fake-llm: no answer is scripted for openai (/v1/chat/completions)","type":"server_error","param":null,"code":null}}'
}

@test "a slow answer outlasts a client's timeout; an invalid JSON body; a dropped connection" {
	fake_llm_start '{"answers": [{"delay_ms": 2000, "text": "late"}, {"raw": "not json{"}, {"drop": true}, {"status": 200, "body": {"choices": []}}]}'
	run -28 curl -sS --max-time 0.5 -H 'Content-Type: application/json' -d "$CHAT" "$FAKE_LLM_URL/v1/chat/completions"
	assert_output --partial 'timed out'
	run -0 openai "$CHAT"
	assert_output '200 not json{'
	assert_equal "$(header content-type)" application/json
	run -52 openai "$CHAT"
	run -0 openai "$CHAT"
	assert_output '200 {"choices":[]}'
	# The slow answer's connection was closed before it was sent.
	assert_equal "$(fake_llm_requests | jq -c '[.[] | .closed_early]')" '[true,false,true,false]'
}

@test "PUT /_script replaces the script and starts the answers over; DELETE /_requests forgets" {
	fake_llm_start '{"answers": [{"text": "one"}, {"text": "two"}]}'
	run -0 openai "$CHAT"
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"two"'
	echo "{\"key\": \"$KEY\", \"answers\": [{\"text\": \"new\"}]}" >s.json
	run -0 fake_llm_script s.json
	run -0 curl -sS -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d "$(cat s.json)" "$FAKE_LLM_URL/_script"
	assert_output 204
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"new"'
	KEY=other run -0 openai "$CHAT"
	assert_output --regexp '^401 '
	run -0 curl -sS -w ' %{http_code}' -X PUT -d '{"answers": [{"txt": "typo"}]}' "$FAKE_LLM_URL/_script"
	assert_output "{\"message\":\"bad script: answers[0]: unknown key 'txt'\"} 400"
	run -0 fake_llm_count
	assert_output 4
	run -0 curl -sS -w '%{http_code}' -X DELETE "$FAKE_LLM_URL/_requests"
	assert_output 204
	run -0 fake_llm_requests
	assert_output '[]'
	run -0 curl -sS -w ' %{http_code}' "$FAKE_LLM_URL/_nothing"
	assert_output '{"message":"fake-llm: no GET /_nothing"} 404'
}

@test "the script may be a file; a bad script stops the server with a message" {
	echo '{"answers": [{"text": "from a file"}]}' >s.json
	fake_llm_start s.json
	run -0 openai "$CHAT"
	assert_equal "$(answer '.choices[0].message.content')" '"from a file"'
	run -1 fake_llm_start '{"answers": [{"delay_ms": 5}]}'
	assert_output --partial 'bad script: answers[0]: an answer needs "text", "raw", "status", "body" or "drop"'
	run -1 fake_llm_start '{"keys": "x"}'
	assert_output --partial "bad script: unknown key 'keys'"
	run -1 fake_llm_start missing.json
	assert_output --partial 'bad script: ENOENT'
}

@test "fake_llm_stop ends every server it started; stop_servers does too" {
	fake_llm_start '{}'
	first=$FAKE_LLM_PID
	fake_llm_start '{}'
	second=$FAKE_LLM_PID
	kill -0 "$first"
	kill -0 "$second"
	assert_equal "$(wc -l <"$SERVER_PIDS")" 2
	fake_llm_stop
	run ! kill -0 "$first"
	run ! kill -0 "$second"
	assert_equal "${FAKE_LLM_URL:-}" ""
	fake_llm_start '{}'
	third=$FAKE_LLM_PID
	stop_servers
	run ! kill -0 "$third"
}

@test "without node, fake_llm_start skips a test and starts nothing in setup_file" {
	run -0 bash -c 'skip() { echo "skip: $1"; exit 0; }; source "$1"; PATH=/nonexistent
		BATS_TEST_NAME=; fake_llm_start "{}"; echo "setup_file: $? ${FAKE_LLM_URL:-none}"
		BATS_TEST_NAME=x; fake_llm_start "{}"; echo started' _ "$SB_ROOT/test/helpers/fake-llm.bash"
	assert_output - <<-EOF
		setup_file: 0 none
		skip: fake LLM server: node is needed
	EOF
}
