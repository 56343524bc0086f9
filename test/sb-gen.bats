#!/usr/bin/env bats
# sb-gen against fake OpenAI- and Anthropic-compatible servers on loopback
# (test/fake-llm), and offline with the rules provider, on the sample
# components of test/fixtures/components.

setup() {
	load test_helper/common
	load helpers/fake-llm
	cp -r "$FIXTURES/components/shop" shop
	cat >c.json <<EOF
{"components": {"shop": {"path": "$PWD/shop", "language": "python", "overview": "OVERVIEW.md"}},
 "features": {"component_generation": true}, "llm": {"api_key_env": "TEST_LLM_KEY"}}
EOF
	export SB_CONFIG=$PWD/c.json SB_STATE_DIR=$PWD/state
	export TEST_LLM_KEY=sk-test-SECRET-0123456789 OPENAI_API_KEY=sk-other-SECRET-0123456789
	cat >in.ndjson <<'EOF'
{"type":"insight","id":"i1","kind":"error_pattern","component":"shop","pattern":"Timeout calling pricing after <*> ms","severity":"high","summary":"ERROR messages in shop","evidence":{"count":40,"stack_frame":"/srv/shop/src/app.py:12 in fetch_price","template":"Timeout calling pricing after <*> ms"}}
{"type":"opportunity","id":"o1","insights":["i1"],"title":"Fix error pattern \"Timeout calling pricing after <*> ms\" in shop","component":"shop","pattern":"Timeout calling pricing after <*> ms","kinds":["error_pattern"],"severity":"high","scope":"tenant","risk":"medium"}
EOF
}

teardown() {
	fake_llm_stop
}

# An answer raising the HTTP timeout of shop/config.json with a SEARCH/REPLACE block.
good_edit='Raise the pricing timeout.\n\nconfig.json\n```\n<<<<<<< SEARCH\n    \"timeout_ms\": 2000,\n=======\n    \"timeout_ms\": 3000,\n>>>>>>> REPLACE\n```\n'
absent_edit='config.json\n<<<<<<< SEARCH\n    \"timeout_ms\": 9999,\n=======\n    \"timeout_ms\": 3000,\n>>>>>>> REPLACE\n'

# script ANSWER...: a fake script with these answers (JSON objects), the key checked
script() {
	local IFS=,
	printf '{"key":"%s","answers":[%s]}' "$TEST_LLM_KEY" "$*"
}

openai() {
	sb-gen --provider openai --model gpt-test --url "$FAKE_LLM_URL/v1" "$@"
}

changes() {
	jq -c "select(.type == \"change\") | $1" <<<"$output"
}

@test "openai: the request, the change record, its diff and the hash of the file it was made against" {
	fake_llm_start "$(script "{\"text\":\"$good_edit\",\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":40}}")"
	run -0 --separate-stderr openai in.ndjson
	# The insight is forwarded, the change follows.
	assert_equal "$(jq -r .type <<<"$output" | tr '\n' ' ')" "insight change "
	assert_equal "$(changes '[.opportunity, .component, .provider, .model, .rationale]')" \
		'["o1","shop","openai","gpt-test","Raise the pricing timeout."]'
	assert_equal "$(changes '.files[] | [.path, .action, .base_sha256]')" \
		"[\"config.json\",\"modify\",\"$(sha256sum "$FIXTURES/components/shop/config.json" | cut -d' ' -f1)\"]"
	changes '.files[0].content' | jq -r . >new.json
	assert_equal "$(jq .http.timeout_ms new.json)" 3000
	changes '.files[0].diff' | jq -r . >change.diff
	run -0 patch --dry-run -p1 -d shop <change.diff
	run -0 jq -c 'select(.type == "change") | .usage | [.prompt_tokens, .completion_tokens, .attempts, (.duration_ms >= 0)]' <<<"$(openai in.ndjson)"
	assert_output '[900,40,1,true]'
	run -0 fake_llm_requests
	assert_equal "$(jq -c '.[0] | [.method, .path, .headers.authorization[:9], .headers["content-type"]]' <<<"$output")" \
		'["POST","/v1/chat/completions","Bearer sk","application/json"]'
	assert_equal "$(jq -c '.[0].body | [.model, .messages[0].role, .messages[1].role, .max_tokens, has("max_completion_tokens")]' <<<"$output")" \
		'["gpt-test","system","user",4096,false]'
	# The file is only read: sb-gen changes nothing on disk.
	cmp shop/config.json "$FIXTURES/components/shop/config.json"
}

@test "the prompt: goal, evidence, overview, the file of the stack frame, standards and the edit format" {
	fake_llm_start "$(script "{\"text\":\"$good_edit\"}")"
	run -0 openai in.ndjson
	prompt=$(fake_llm_requests | jq -r '.[0].body.messages[1].content')
	assert_regex "$prompt" 'component "shop" \(python\)'
	assert_regex "$prompt" 'Fix error pattern "Timeout calling pricing after <\*> ms" in shop'
	assert_regex "$prompt" '"stack_frame": "/srv/shop/src/app.py:12 in fetch_price"'
	assert_regex "$prompt" "$(head -1 shop/OVERVIEW.md)"
	assert_regex "$prompt" 'src/app.py'
	assert_regex "$prompt" '<<<<<<< SEARCH'
	assert_regex "$prompt" 'Change only what the goal needs'
	# --print-prompt calls nothing and writes the prompt as a record.
	before=$(fake_llm_count)
	run -0 openai --print-prompt in.ndjson
	assert_equal "$(fake_llm_count)" "$before"
	assert_equal "$(jq -r 'select(.type == "prompt") | [.opportunity, .provider, .model] | join(" ")' <<<"$output")" 'o1 openai gpt-test'
	assert_equal "$(jq -r 'select(.type == "prompt") | .prompt' <<<"$output")" "$prompt"
}

@test "the prompt: a token budget leaves files out and says so; --prompt-template, --standards, --examples" {
	run -0 openai --print-prompt --max-context-tokens 400 in.ndjson
	assert_regex "$(jq -r 'select(.type == "prompt") | .prompt' <<<"$output")" 'Left out for lack of room'
	printf 'C={{component}} G={{goal}} F={{format}} U={{unknown}}\n' >t.txt
	echo '- Tests first.' >std.txt
	run -0 openai --print-prompt --prompt-template t.txt --standards std.txt in.ndjson
	assert_regex "$(jq -r 'select(.type == "prompt") | .prompt' <<<"$output")" '^C=shop G=Fix error pattern.* F=Give each change as a SEARCH/REPLACE block.* U=\{\{unknown\}\}$'
	run -0 openai --print-prompt --standards std.txt --examples 'src/*.py' in.ndjson
	assert_regex "$(jq -r 'select(.type == "prompt") | .prompt' <<<"$output")" 'Tests first'
	run -2 --separate-stderr openai --print-prompt --prompt-template nosuch.txt in.ndjson
	assert_regex "$stderr" "prompt-template 'nosuch.txt'"
}

@test "anthropic: Messages API with x-api-key, anthropic-version, a top-level system and max_tokens" {
	fake_llm_start "{\"key\":\"$TEST_LLM_KEY\",\"answers\":[{\"text\":\"$good_edit\",\"usage\":{\"input_tokens\":700,\"output_tokens\":30}}]}"
	run -0 sb-gen --provider anthropic --model claude-test --url "$FAKE_LLM_URL" --max-tokens 2000 in.ndjson
	assert_equal "$(changes '[.provider, .model, .usage.prompt_tokens, .usage.completion_tokens, .files[0].path]')" \
		'["anthropic","claude-test",700,30,"config.json"]'
	run -0 fake_llm_requests
	assert_equal "$(jq -c '.[0] | [.path, .headers["anthropic-version"], (.headers["x-api-key"] | length > 0), .headers.authorization]' <<<"$output")" \
		'["/v1/messages","2023-06-01",true,null]'
	assert_equal "$(jq -c '.[0].body | [.model, .max_tokens, (.system | length > 0), [.messages[].role]]' <<<"$output")" \
		'["claude-test",2000,true,["user"]]'
}

@test "--max-tokens-field: the field local servers and OpenAI's newer models each expect" {
	fake_llm_start "{\"checks\":{\"openai\":{\"require_field\":\"max_completion_tokens\",\"forbid_field\":\"max_tokens\"}},\"answers\":[{\"text\":\"$good_edit\"}]}"
	run -0 openai --max-tokens-field max_completion_tokens in.ndjson
	assert_equal "$(changes '.files | length')" 1
	run -4 openai in.ndjson  # max_tokens is refused by this server
	run -2 openai --max-tokens-field tokens in.ndjson
}

@test "udiff and whole edit formats" {
	fake_llm_start "$(script '{"text":"Longer timeout.\n\n--- a/config.json\n+++ b/config.json\n@@ @@\n   \"http\": {\n     \"pricing_url\": \"http://127.0.0.1:8081\",\n-    \"timeout_ms\": 2000,\n+    \"timeout_ms\": 2500,\n"}')"
	run -0 openai --edit-format udiff in.ndjson
	assert_equal "$(changes '.files[0].content' | jq -r . | jq .http.timeout_ms)" 2500
	assert_regex "$(fake_llm_requests | jq -r '.[0].body.messages[1].content')" 'unified diff'
	fake_llm_script "$(script '{"text":"A new note.\n\nNOTES.md\n```\nkeep timeouts bounded\n```\n"}')"
	run -0 openai --edit-format whole in.ndjson
	assert_equal "$(changes '.files[0] | [.path, .action, .content, has("base_sha256")]')" \
		'["NOTES.md","create","keep timeouts bounded\n",false]'
}

@test "edits that do not apply: asked once more with the error quoted, then reported and exit 1" {
	fake_llm_start "$(script "{\"text\":\"$absent_edit\"}" "{\"text\":\"$good_edit\"}")"
	run -0 --separate-stderr openai in.ndjson
	assert_equal "$(changes '.usage.attempts')" 2
	run -0 fake_llm_requests
	assert_equal "$(jq -c '.[1].body.messages | map(.role)' <<<"$output")" '["system","user","assistant","user"]'
	assert_regex "$(jq -r '.[1].body.messages[3].content' <<<"$output")" 'could not be applied: config.json: SEARCH text not found'
	fake_llm_script "$(script "{\"text\":\"$absent_edit\"}")"
	run -1 --separate-stderr openai in.ndjson
	assert_equal "$(changes .id)" ""
	assert_regex "$stderr" 'opportunity o1: edits do not apply after asking again: config.json: SEARCH text not found'
}

@test "a path outside the component is refused" {
	fake_llm_start "$(script '{"text":"../../etc/passwd\n<<<<<<< SEARCH\nroot\n=======\nx\n>>>>>>> REPLACE\n"}')"
	run -1 --separate-stderr openai in.ndjson
	assert_regex "$stderr" 'opportunity o1: edits do not apply after asking again: .*path'
	assert_equal "$(fake_llm_count)" 2
}

@test "429 with Retry-After, 500, 529 and an invalid body are retried; the change says how many attempts" {
	fake_llm_start "$(script '{"status":429,"headers":{"Retry-After":"1"}}' '{"status":500}' '{"raw":"not json{"}' "{\"text\":\"$good_edit\"}")"
	start=$(date +%s)
	run -0 --separate-stderr openai -v in.ndjson
	[ $(($(date +%s) - start)) -ge 1 ]
	assert_equal "$(changes '.usage.attempts')" 4
	assert_regex "$stderr" 'HTTP 429'
	# retry-after-ms, and Retry-After as an HTTP date, are honoured too.
	when=$(date -u -d '+2 seconds' '+%a, %d %b %Y %H:%M:%S GMT')
	fake_llm_script "$(script '{"status":429,"headers":{"retry-after-ms":"300"}}' \
		"{\"status\":503,\"headers\":{\"Retry-After\":\"$when\"}}" "{\"text\":\"$good_edit\"}")"
	start=$(date +%s%N)
	run -0 openai in.ndjson
	[ $((($(date +%s%N) - start) / 1000000)) -ge 1000 ]
	assert_equal "$(changes '.usage.attempts')" 3
	fake_llm_start "{\"key\":\"$TEST_LLM_KEY\",\"answers\":[{\"status\":529},{\"text\":\"$good_edit\"}]}"
	run -0 sb-gen --provider anthropic --model claude-test --url "$FAKE_LLM_URL" in.ndjson
	assert_equal "$(changes '.usage.attempts')" 2
}

@test "out of retries, a timeout, a bad key, a spend limit: exit 4 and no change; no retry where waiting cannot help" {
	fake_llm_start "$(script '{"status":503}')"
	run -4 --separate-stderr openai --retries 1 in.ndjson
	assert_equal "$(fake_llm_count)" 2
	assert_regex "$stderr" 'opportunity o1: openai .*: HTTP 503'
	fake_llm_script "$(script "{\"delay_ms\":3000,\"text\":\"$good_edit\"}")"
	run -4 --separate-stderr openai --retries 0 --timeout 1s in.ndjson
	assert_regex "$stderr" 'timed out after 1s'
	fake_llm_script "$(script "{\"text\":\"$good_edit\"}")"
	TEST_LLM_KEY=wrong-key-0123456789 run -4 --separate-stderr openai in.ndjson
	assert_regex "$stderr" 'HTTP 401: authentication failed'
	fake_llm_script "$(script '{"status":429,"error":{"type":"insufficient_quota","code":"insufficient_quota"}}')"
	before=$(fake_llm_count)
	run -4 --separate-stderr openai in.ndjson
	assert_equal "$(fake_llm_count)" $((before + 1))
}

@test "the key never appears in the output or in messages, even with -v and on errors" {
	fake_llm_start "$(script '{"status":500}')"
	run -4 openai -v --retries 1 in.ndjson
	refute_output --partial SECRET
	fake_llm_script "$(script "{\"text\":\"$good_edit\"}")"
	run -0 openai -v in.ndjson
	refute_output --partial SECRET
	run -0 openai --print-prompt in.ndjson
	refute_output --partial SECRET
	TEST_LLM_KEY=sk-wrong-SECRET-999999999 run -4 openai -v in.ndjson
	refute_output --partial SECRET
}

@test "a provider's default key variable is sent to its own API only, not to another server" {
	fake_llm_start "$(printf '{"answers":[{"text":"%s"}]}' "$good_edit")"
	jq 'del(.llm)' c.json >nokey.json
	run -0 --separate-stderr openai -c nokey.json -v in.ndjson
	assert_regex "$stderr" 'no key sent to .*llm.api_key_env'
	assert_equal "$(fake_llm_requests | jq -c '.[0].headers.authorization')" null
}

@test "the circuit breaker: open after --breaker-failures failed requests, across runs; no request while open" {
	fake_llm_start "$(script '{"status":500}')"
	breaker="--retries 0 --breaker-failures 2 --breaker-cooldown 1s"
	run -4 openai $breaker in.ndjson
	run -4 openai $breaker in.ndjson
	assert_equal "$(fake_llm_count)" 2
	run -4 --separate-stderr openai $breaker in.ndjson
	assert_regex "$stderr" 'circuit breaker open until'
	assert_equal "$(fake_llm_count)" 2
	file=$(ls state/breakers/llm-openai-127.0.0.1_*.json)
	# After the cooldown one probe goes through; a good answer closes the breaker.
	sleep 1.2
	fake_llm_script "$(script "{\"text\":\"$good_edit\"}")"
	run -0 openai $breaker in.ndjson
	assert_equal "$(fake_llm_count)" 3
	assert_equal "$(jq .failures "$file")" 0
}

@test "--jobs: several opportunities at once, the changes in input order" {
	for n in 1 2 3 4; do
		jq -c --arg n "$n" '.id = "o\($n)" | .title = "Fix number \($n) in shop"' <(sed -n 2p in.ndjson)
	done >many.ndjson
	# The first opportunity's answer is the slowest: with --jobs 4 it finishes last.
	fake_llm_start "{\"key\":\"$TEST_LLM_KEY\",\"routes\":[
		{\"contains\":\"Fix number 1\",\"answers\":[{\"delay_ms\":1500,\"text\":\"$good_edit\"}]},
		{\"contains\":\"Fix number 2\",\"answers\":[{\"delay_ms\":200,\"text\":\"$good_edit\"}]},
		{\"contains\":\"Fix number 3\",\"answers\":[{\"delay_ms\":100,\"text\":\"$good_edit\"}]},
		{\"contains\":\"Fix number 4\",\"answers\":[{\"text\":\"$good_edit\"}]}],\"answers\":[{\"status\":500}]}"
	start=$(date +%s%N)
	run -0 openai --jobs 4 many.ndjson
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_equal "$(changes .opportunity | tr -d '"' | tr '\n' ' ')" "o1 o2 o3 o4 "
	[ "$elapsed" -lt 1800 ]  # at once, not one after the other (1.8 s)
}

@test "rules provider (the default): a built-in rule edits the component's JSON configuration, bounded" {
	run -0 --separate-stderr sb-gen in.ndjson
	assert_equal "$(changes '[.provider, .files[0].path, .files[0].action]')" '["rules","config.json","modify"]'
	assert_regex "$(changes .model)" '.'
	changes '.files[0].content' | jq -r . >new.json
	[ "$(jq .http.timeout_ms new.json)" -gt 2000 ]
	changes '.files[0].diff' | jq -r . >change.diff
	run -0 patch --dry-run -p1 -d shop <change.diff
	# No rule for this opportunity: no change, and a message with -v.
	jq -c '.pattern = "all good" | .kinds = ["anomaly"] | del(.insights)' <(sed -n 2p in.ndjson) >none.ndjson
	run -0 --separate-stderr sb-gen -v none.ndjson
	assert_equal "$output" ""
	assert_regex "$stderr" 'opportunity o1: no change: no rule matches'
	# A playbook of one's own.
	echo '{"rules":[{"name":"pool","match":{"kind":"error_pattern"},"edit":".db.pool_size |= . + 5","rationale":"more connections"}]}' >pb.json
	run -0 sb-gen --playbook pb.json in.ndjson
	assert_equal "$(changes '[.model, .rationale, (.files[0].content | fromjson | .db.pool_size)]')" '["pool","more connections",15]'
	echo '{"rules":[{"name":"x","edit":"..["}]}' >bad.json
	run -2 --separate-stderr sb-gen --playbook bad.json in.ndjson
	assert_regex "$stderr" 'bad.json'
}

@test "component generation: only when the configuration allows it; whole files created" {
	fake_llm_start "$(script '{"text":"A tiny health service.\n\nsrc/health.py\n```python\ndef health():\n    return \"ok\"\n```\n"}')"
	run -0 openai --component-type python-service --component health --requirements "answer ok on /health" </dev/null
	assert_equal "$(changes '[.component, .opportunity, .files[0].path, .files[0].action]')" '["health",null,"src/health.py","create"]'
	assert_regex "$(fake_llm_requests | jq -r '.[0].body.messages[1].content')" 'answer ok on /health'
	jq '.features.component_generation = false' c.json >off.json
	run -2 --separate-stderr openai -c off.json --component-type python-service --component health --requirements x </dev/null
	assert_regex "$stderr" 'component generation is off'
	run -2 --separate-stderr sb-gen --component-type python-service --component health --requirements x </dev/null
	assert_regex "$stderr" 'needs a language model'
}

@test "usage errors and malformed input" {
	run -2 sb-gen --provider nosuch
	run -2 sb-gen --edit-format json
	run -2 sb-gen --jobs 0
	run -2 --separate-stderr sb-gen --provider openai in.ndjson
	assert_regex "$stderr" 'no model'
	printf '%s\n' '{"type":"opportunity","component":"shop"}' 'not json' >bad.ndjson
	run -0 --separate-stderr sb-gen bad.ndjson
	assert_regex "$stderr" 'bad.ndjson:1: opportunity has no "id" string'
	assert_regex "$stderr" 'bad.ndjson:2: invalid JSON'
	run -3 sb-gen --on-error fail bad.ndjson
	# An opportunity for a component without a path: no change, a message.
	jq -c '.component = "elsewhere"' <(sed -n 2p in.ndjson) >other.ndjson
	run -0 --separate-stderr sb-gen other.ndjson
	assert_regex "$stderr" 'component elsewhere has no path'
}

@test "rules provider: each built-in rule through sb-gen, on the sample component" {
	while IFS='|' read -r rule kind field value key; do
		jq -cn --arg k "$kind" --arg f "$field" --arg v "$value" \
			'{type: "opportunity", id: "o-\($v)", component: "shop", kinds: [$k], severity: "high", title: "t"} + {($f): $v}' >one.ndjson
		run -0 --separate-stderr sb-gen -v one.ndjson
		assert_equal "$(changes .model)" "\"$rule\""
		before=$(jq "$key" shop/config.json)
		after=$(changes '.files[0].content' | jq -r . | jq "$key")
		[ "$after" -gt "$before" ] || { echo "$rule: $key $before -> $after"; return 1; }
	done <<'EOF2'
raise-db-pool|error_pattern|pattern|could not obtain a database connection|.db.pool_size
raise-function-timeout|completion|metric|duration_ms|.timeout_s
raise-http-timeout|error_pattern|pattern|pricing timed out after <*> ms|.http.timeout_ms
raise-retries|error_pattern|pattern|connection reset by peer|.http.retries
raise-memory|completion|metric|max_memory_used_mb|.memory_mb
raise-cache-ttl|degradation|metric|latency_p95_ms|.cache.ttl_s
EOF2
}
