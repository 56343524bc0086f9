#!/usr/bin/env bats
# lib/playbook: rule playbooks that edit a component's JSON configuration with
# jq programs, through the small driver test/playbook.c, on the sample
# components under test/fixtures/components/.

setup_file() {
	load helpers/driver
	build_driver PLAYBOOK test/playbook.c
}

setup() {
	load test_helper/common
	SHOP="$FIXTURES/components/shop"
	BILLING="$FIXTURES/components/billing"
}

# An insight of KIND about SUBJECT (a metric, or a pattern when it has a space)
# in COMPONENT, and the opportunity sb-score makes of it.
records() { # KIND SUBJECT [COMPONENT] [SEVERITY]
	jq -nc --arg kind "$1" --arg subject "$2" --arg comp "${3:-shop}" --arg sev "${4:-high}" '
		(if ($subject | test(" ")) then {pattern: $subject} else {metric: $subject} end) as $s
		| ($s | if .pattern then {template: .pattern, count: 30} else {change_pct: 42.2, z: 6.25} end) as $ev
		| {type: "insight", id: "i1", component: $comp, kind: $kind, severity: $sev,
		   summary: "something about \($subject)", evidence: $ev} + $s,
		  {type: "opportunity", id: "o1", rank: 1, title: "Fix \($kind) of \($subject) in \($comp)",
		   component: $comp, kinds: [$kind], severity: $sev, impact: 576.123, insights: ["i1"]} + $s'
}

# Apply the built-in playbook to a copy of COMPONENT again and again, writing
# back each new content: the value at JQ-PATH after each change, then the
# answer that ended it.
climb() { # RECORDS JQ-PATH [COMPONENT]
	local i
	rm -rf comp && cp -r "${3:-$SHOP}" comp
	for i in $(seq 20); do
		"$PLAYBOOK" comp <"$1" >answer || { cat answer; return 1; }
		case $(cat answer) in '{'*) ;; *) cat answer; return 0 ;; esac
		jq -r .content answer >comp/config.json
		jq -r "$2" comp/config.json
	done
	return 1
}

# The first answer of the built-in playbook: the rule, the rationale and the
# change to the file as a diff (without its header).
first() { # RECORDS [COMPONENT]
	local comp=${2:-$SHOP}
	"$PLAYBOOK" "$comp" <"$1" >answer || { cat answer; return 1; }
	jq -r .rule,.file,.rationale answer
	jq -r .content answer | diff -U0 "$comp/config.json" - | grep '^[-+] '
}

@test "examples/playbook.json is the built-in playbook" {
	run -0 bash -c '"$PLAYBOOK" --builtin | diff - "$1"' _ "$SB_ROOT/examples/playbook.json"
	run -0 jq -r '.rules[] | "\(.name) \(.file)"' "$SB_ROOT/examples/playbook.json"
	assert_output - <<'EOF'
raise-db-pool config.json
raise-function-timeout config.json
raise-http-timeout config.json
raise-retries config.json
raise-memory config.json
raise-cache-ttl config.json
EOF
	# The copy loads as a playbook file too.
	records error_pattern 'pricing timed out after <*> ms' >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" "$2" <in.ndjson | jq -r .rule' _ "$SB_ROOT/examples/playbook.json" "$SHOP"
	assert_output raise-http-timeout
}

@test "raise-http-timeout: timed-out patterns raise http.timeout_ms by half, up to 30000" {
	records error_pattern 'pricing timed out after <*> ms for <*>' >in.ndjson
	run -0 first in.ndjson
	assert_output - <<'EOF'
raise-http-timeout
config.json
Fix error_pattern of pricing timed out after <*> ms for <*> in shop: calls from shop give up before the other side answers. A longer HTTP timeout lets slow but successful calls finish; it grows by half per change and never beyond 30 s (http.timeout_ms 2000 -> 3000).
-    "timeout_ms": 2000,
+    "timeout_ms": 3000,
EOF
	run -0 climb in.ndjson .http.timeout_ms
	assert_output - <<'EOF'
3000
4500
6750
10125
15187
22780
30000
none: rule raise-http-timeout: config.json unchanged
EOF
	# A degradation of a timeout metric calls for it too; "deadline exceeded" as well.
	records degradation http_client_timeouts_total >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" <in.ndjson | jq -r .rule' _ "$SHOP"
	assert_output raise-http-timeout
	records error_pattern 'rpc error: code = DeadlineExceeded desc = context deadline exceeded' >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" <in.ndjson | jq -r .rule' _ "$SHOP"
	assert_output raise-http-timeout
}

@test "raise-db-pool: pool exhaustion raises db.pool_size by half, up to 100, before any timeout rule" {
	records error_pattern 'QueuePool limit of size <*> overflow <*> reached, connection timed out, timeout <*>' >in.ndjson
	run -0 first in.ndjson
	assert_line -n 0 raise-db-pool
	assert_line -n 3 '-    "pool_size": 10'
	assert_line -n 4 '+    "pool_size": 15'
	records error_pattern 'could not obtain a database connection within <*> seconds' >in.ndjson
	run -0 climb in.ndjson .db.pool_size
	assert_output - <<'EOF'
15
23
35
53
80
100
none: rule raise-db-pool: config.json unchanged
EOF
	records trend db_pool_wait_ms >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" <in.ndjson | jq -r .rule' _ "$SHOP"
	assert_output raise-db-pool
}

@test "raise-retries: transient network errors and failing completions raise http.retries by one, up to 5" {
	records error_pattern 'Connection reset by peer <*>' >in.ndjson
	run -0 first in.ndjson
	assert_line -n 0 raise-retries
	assert_line -n 2 'Fix error_pattern of Connection reset by peer <*> in shop: failures in shop look transient. One more retry turns many of them into successes; retries grow by one per change and never beyond 5 (http.retries 2 -> 3).'
	run -0 climb in.ndjson .http.retries
	assert_output - <<'EOF'
3
4
5
none: rule raise-retries: config.json unchanged
EOF
	records completion error_ratio >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" <in.ndjson | jq -r .rule' _ "$SHOP"
	assert_output raise-retries
}

@test "raise-function-timeout: completions near their timeout raise timeout_s by half, up to 900" {
	records completion duration_ms >in.ndjson
	run -0 first in.ndjson
	assert_output - <<'EOF'
raise-function-timeout
config.json
Fix completion of duration_ms in shop: invocations of shop run close to their time limit. A longer timeout keeps slow invocations from being cut off; it grows by half per change and never beyond 900 s (timeout_s 30 -> 45).
-  "timeout_s": 30,
+  "timeout_s": 45,
EOF
	run -0 climb in.ndjson .timeout_s
	assert_output - <<'EOF'
45
68
102
153
230
345
518
777
900
none: rule raise-function-timeout: config.json unchanged
EOF
}

@test "raise-memory: completions near their memory and out-of-memory patterns raise memory_mb, up to 10240" {
	records completion max_memory_used_mb >in.ndjson
	run -0 first in.ndjson
	assert_line -n 0 raise-memory
	assert_line -n 3 '-  "memory_mb": 512'
	assert_line -n 4 '+  "memory_mb": 768'
	run -0 climb in.ndjson .memory_mb
	assert_output - <<'EOF'
768
1152
1728
2624
3968
5952
8960
10240
none: rule raise-memory: config.json unchanged
EOF
	records error_pattern 'MemoryError: Unable to allocate <*> MiB' >in.ndjson
	run -0 bash -c '"$PLAYBOOK" "$1" <in.ndjson | jq -r .rule' _ "$SHOP"
	assert_output raise-memory
}

@test "raise-cache-ttl: latency degradations double cache.ttl_s, up to 3600" {
	records degradation checkout_latency_p95_ms >in.ndjson
	run -0 first in.ndjson
	assert_output - <<'EOF'
raise-cache-ttl
config.json
Fix degradation of checkout_latency_p95_ms in shop: shop got slower. Keeping cached entries longer answers more requests without the slow path, at the cost of staler data; the TTL doubles per change and never goes beyond 1 h (cache.ttl_s 60 -> 120).
-    "ttl_s": 60
+    "ttl_s": 120
EOF
	run -0 climb in.ndjson .cache.ttl_s
	assert_output - <<'EOF'
120
240
480
960
1920
3600
none: rule raise-cache-ttl: config.json unchanged
EOF
}

@test "built-in: Lambda's task timeouts raise timeout_s; at the cap every matching rule says why it changed nothing" {
	# The function timeout rule comes before the HTTP one, which also matches "timed out".
	records error_pattern 'Task timed out after <*> seconds' billing >in.ndjson
	run -0 climb in.ndjson .timeout_s "$BILLING"
	assert_output - <<'EOF'
5
8
12
18
27
41
62
93
140
210
315
473
710
900
none: rule raise-function-timeout: config.json unchanged; rule raise-http-timeout: config.json unchanged
EOF
}

@test "built-in: what no rule matches, and spikes alone" {
	records trend disk_used_pct >in.ndjson
	run -0 "$PLAYBOOK" "$SHOP" <in.ndjson
	assert_output 'none: no rule matches kinds trend, metric disk_used_pct, component shop'
	# An anomaly is a spike: no lasting change of configuration for it.
	jq -nc '{type: "opportunity", id: "o", title: "t", component: "checkout", kinds: ["anomaly"], metric: "latency_p95_ms"}' >in.ndjson
	run -0 "$PLAYBOOK" "$SHOP" <in.ndjson
	assert_output 'none: no rule matches kinds anomaly, metric latency_p95_ms, component checkout'
}

@test "built-in: values above the cap, zero or negative, and keys of another kind stay as they are" {
	mkdir comp
	records error_pattern 'pricing timed out after <*> ms' >in.ndjson
	for config in '{"http": {"timeout_ms": 60000}}' '{"http": {"timeout_ms": -1}}' '{"http": {"timeout_ms": "2s"}}' \
		'{"http": "0.0.0.0:80"}' '{"timeout_ms": 2000}' '[1, 2]' '{}'; do
		printf '%s\n' "$config" >comp/config.json
		run -0 "$PLAYBOOK" comp <in.ndjson
		assert_output 'none: rule raise-http-timeout: config.json unchanged'
	done
}

@test "built-in: retries raise from zero, which means no retries, not no limit" {
	mkdir comp
	printf '{"http": {"retries": 0}}\n' >comp/config.json
	records error_pattern 'connection refused' >in.ndjson
	run -0 bash -c '"$PLAYBOOK" comp <in.ndjson | jq -r .content'
	assert_output - <<'EOF'
{
  "http": {
    "retries": 1
  }
}
EOF
}

# Whether a playbook of one rule matching MATCH (JSON) applies to the records on stdin.
matches() { # MATCH
	jq -n --argjson m "$1" '{rules: [{name: "r", match: $m, edit: ".n = 1"}]}' >book.json
	local out
	out=$("$PLAYBOOK" book.json "$SHOP") || { echo "$out"; return 1; }
	case $out in '{'*) echo yes ;; *) echo no ;; esac
}

# Each MATCH against the records in in.ndjson, one answer a line.
each() {
	local m
	for m in "$@"; do matches "$m" <in.ndjson || return 1; done
}

@test "match.kind: a string or any of an array, against the opportunity's kinds and its insights' kinds" {
	jq -nc '{type: "opportunity", id: "o", title: "t", component: "shop", kinds: ["degradation", "anomaly"]}' >in.ndjson
	run -0 each '{"kind": "anomaly"}' '{"kind": ["trend", "degradation"]}' '{"kind": "trend"}' '{"kind": "Anomaly"}'
	assert_output $'yes\nyes\nno\nno'
	jq -nc '{type: "insight", id: "i", kind: "trend"}, {type: "opportunity", id: "o", kinds: ["degradation"]}' >in.ndjson
	run -0 each '{"kind": "trend"}' '{"kind": "error_pattern"}'
	assert_output $'yes\nno'
}

@test "match.metric: a case-insensitive extended regex on the opportunity's or an insight's metric" {
	jq -nc '{type: "insight", id: "i", kind: "trend", metric: "db_wait_ms"},
		{type: "opportunity", id: "o", kinds: ["degradation"], metric: "checkout_Latency_P95_ms"}' >in.ndjson
	run -0 each '{"metric": "latency_p95"}' '{"metric": "^checkout_(errors|latency)"}' '{"metric": "^latency"}' \
		'{"metric": "wait_ms$"}' '{"metric": "rps|qps"}'
	assert_output $'yes\nyes\nno\nyes\nno'
	jq -nc '{type: "opportunity", id: "o", kinds: ["error_pattern"], pattern: "x"}' >in.ndjson
	run -0 each '{"metric": ""}' '{"metric": "."}'
	assert_output $'no\nno'
}

@test "match.template: a substring or /regex/, both case-insensitive, on the pattern or an insight's template" {
	jq -nc '{type: "opportunity", id: "o", kinds: ["error_pattern"], pattern: "Connection reset by peer <*>"}' >in.ndjson
	run -0 each '{"template": "connection RESET"}' '{"template": "/reset by (peer|host)/"}' '{"template": "/^reset/"}' \
		'{"template": "refused"}' '{"template": "<*>"}' '{"template": "/^connection reset by peer <[*]>$/"}'
	assert_output $'yes\nyes\nno\nno\nyes\nyes'
	# An opportunity of a metric: its insights' templates still count.
	jq -nc '{type: "insight", id: "i", kind: "error_pattern", evidence: {template: "upstream timed out <*>"}},
		{type: "insight", id: "j", kind: "error_pattern", pattern: "broken pipe"},
		{type: "opportunity", id: "o", kinds: ["degradation"], metric: "latency_ms"}' >in.ndjson
	run -0 each '{"template": "timed out"}' '{"template": "/broken/"}' '{"template": "latency"}'
	assert_output $'yes\nyes\nno'
}

@test "match.component and match.severity: exact, a string or any of an array; every field must hold" {
	jq -nc '{type: "opportunity", id: "o", component: "shop", severity: "high", kinds: ["trend"], metric: "m"}' >in.ndjson
	run -0 each '{"component": "shop"}' '{"component": ["billing", "shop"]}' '{"component": "Shop"}' \
		'{"severity": "high"}' '{"severity": ["low", "medium"]}' \
		'{"kind": "trend", "metric": "^m$", "component": "shop", "severity": ["high", "critical"]}' \
		'{"kind": "trend", "metric": "^m$", "component": "billing"}'
	assert_output $'yes\nyes\nno\nyes\nno\nyes\nno'
}

@test "match: an array holds when any of its objects does; no match at all holds always" {
	jq -nc '{type: "opportunity", id: "o", component: "shop", severity: "high", kinds: ["trend"]}' >in.ndjson
	run -0 each '[{"component": "billing"}, {"severity": "high"}]' '[{"component": "billing"}, {"severity": "low"}]' \
		'{}' 'null'
	assert_output $'yes\nno\nyes\nyes'
}

@test "custom playbook: rules in order, any JSON file, \$opportunity and \$insights, rationale fields" {
	mkdir -p comp/deploy
	printf '{"replicas": 2, "old": true}\n' >comp/deploy/service.json
	printf '{"x": 1}\n' >comp/config.json
	cat >book.json <<'EOF'
{"doc": "scale out on anything severe",
 "rules": [
  {"name": "noop", "match": {"severity": "critical"}, "edit": "."},
  {"name": "scale-out", "match": {"severity": ["high", "critical"]}, "file": "deploy/service.json",
   "edit": ".replicas += 1 | .why = $opportunity.title | .insights = ($insights | length) | del(.old)",
   "rationale": "{rule} on {file} for {title} ({kinds}; impact {impact}, change {change_pct}%, z {z}, {nope}): {changes}."},
  {"name": "never-reached", "edit": ".x = 2"}
 ]}
EOF
	records degradation latency_ms shop critical >in.ndjson
	run -0 bash -c '"$PLAYBOOK" book.json comp <in.ndjson | jq -r .rule,.file,.content,.rationale'
	assert_output - <<'EOF'
scale-out
deploy/service.json
{
  "replicas": 3,
  "why": "Fix degradation of latency_ms in shop",
  "insights": 1
}

scale-out on deploy/service.json for Fix degradation of latency_ms in shop (degradation; impact 576.12, change 42.2%, z 6.25, {nope}): replicas 2 -> 3, why set to "Fix degradation of latency_ms in shop", insights set to 1, old removed.
EOF
	# Without a rationale, a default that says what changed; a comment ends with its line.
	printf '{"rules": [{"name": "r", "edit": ".x = 2 # two"}, {"name": "s", "edit": ".x = 3"}]}\n' >book.json
	run -0 bash -c '"$PLAYBOOK" book.json comp <in.ndjson | jq -r .rationale'
	assert_output 'Playbook rule r changed config.json: x 1 -> 2.'
}

@test "errors: malformed playbooks, each with what is wrong where" {
	check() { # PLAYBOOK-TEXT MESSAGE
		printf '%s' "$1" >book.json
		run -1 "$PLAYBOOK" book.json "$SHOP" </dev/null
		assert_output "error: book.json: $2"
	}
	check 'nope' 'not JSON: Invalid literal at EOF at line 1, column 4'
	check '[]' 'not a JSON object'
	check '{"rule": []}' 'rule: unknown field'
	check '{}' 'rules: missing'
	check '{"rules": {}}' 'rules: not an array'
	check '{"rules": [1]}' 'rules[0]: not an object'
	check '{"rules": [{"edit": "."}]}' 'rules[0].name: missing'
	check '{"rules": [{"name": 3, "edit": "."}]}' 'rules[0].name: not a string'
	check '{"rules": [{"name": "a", "edit": "."}, {"name": "a", "edit": "."}]}' 'rules[1].name: a name used by an earlier rule'
	check '{"rules": [{"name": "a", "edit": ".", "when": 1}]}' 'rules[0].when: unknown field'
	check '{"rules": [{"name": "a"}]}' 'rules[0].edit: missing'
	check '{"rules": [{"name": "a", "edit": " \n"}]}' 'rules[0].edit: empty'
	check '{"rules": [{"name": "a", "edit": ". +"}]}' \
		'rules[0].edit: jq compile error: syntax error, unexpected $end (Unix shell quoting issues?) at <top-level>, line 1: . +'
	check '{"rules": [{"name": "a", "edit": "$nope"}]}' \
		'rules[0].edit: jq compile error: $nope is not defined at <top-level>, line 1: $nope'
	check '{"rules": [{"name": "a", "edit": "."}, {"name": "b", "edit": "module {}; ."}]}' \
		'rules[1].edit: jq compile error: not a jq expression: syntax error, unexpected module (Unix shell quoting issues?) at <top-level>, line 2: module {}; .'
	check '{"rules": [{"name": "a", "edit": ".", "file": "/etc/x.json"}]}' 'rules[0].file: not a relative path inside the component'
	check '{"rules": [{"name": "a", "edit": ".", "file": "conf/../../x.json"}]}' 'rules[0].file: not a relative path inside the component'
	check '{"rules": [{"name": "a", "edit": ".", "rationale": []}]}' 'rules[0].rationale: not a string'
	check '{"rules": [{"name": "a", "edit": ".", "match": "x"}]}' 'rules[0].match: not an object'
	check '{"rules": [{"name": "a", "edit": ".", "match": []}]}' 'rules[0].match: empty array'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"kinds": "x"}}]}' 'rules[0].match.kinds: unknown field'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"kind": 1}}]}' 'rules[0].match.kind: not a string or array'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"kind": ["x", 1]}}]}' 'rules[0].match.kind[1]: not a string'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"component": []}}]}' 'rules[0].match.component: not a string or array'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"severity": {}}}]}' 'rules[0].match.severity: not a string or array'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"metric": "(a"}}]}' \
		'rules[0].match.metric: bad regex: end pattern with unmatched parenthesis'
	check '{"rules": [{"name": "a", "edit": ".", "match": [{"kind": "x"}, {"template": "/[a/"}]}]}' \
		'rules[0].match[1].template: bad regex: premature end of char-class'
	check '{"rules": [{"name": "a", "edit": ".", "match": {"template": 1}}]}' 'rules[0].match.template: not a string'
	run -1 "$PLAYBOOK" nosuch.json "$SHOP" </dev/null
	assert_output 'error: nosuch.json: No such file or directory'
}

@test "errors: a component file missing changes nothing; one not JSON and an edit raising an error are errors" {
	mkdir comp
	printf '{"rules": [{"name": "r", "edit": ".n = 1"}]}\n' >book.json
	records trend m >in.ndjson
	run -0 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'none: rule r: config.json: no such file'
	printf '{"a": 1,\n "b": nope}\n' >comp/config.json
	run -1 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'error: config.json: not JSON: Invalid literal at line 2, column 11'
	printf '{"a": 1}\n' >comp/config.json
	printf '{"rules": [{"name": "r", "edit": ".a.b = 1"}]}\n' >book.json
	run -1 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'error: rule r: config.json: Cannot index number with string "b"'
	printf '{"rules": [{"name": "r", "edit": "error({why: \\"no\\"})"}]}\n' >book.json
	run -1 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'error: rule r: config.json: {"why":"no"}'
	printf '{"rules": [{"name": "r", "edit": "halt"}]}\n' >book.json
	run -1 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'error: rule r: config.json: the edit halted'
	# An edit that yields nothing changes nothing.
	printf '{"rules": [{"name": "r", "edit": "empty"}, {"name": "s", "edit": "."}]}\n' >book.json
	run -0 "$PLAYBOOK" book.json comp <in.ndjson
	assert_output 'none: rule r: config.json unchanged (the edit yields nothing); rule s: config.json unchanged'
}

@test "one playbook serves many opportunities, after errors and halts too" {
	mkdir comp
	printf '{"a": 1}\n' >comp/config.json
	cat >book.json <<'EOF'
{"rules": [
  {"name": "boom", "match": {"severity": "critical"}, "edit": "error(\"boom\")"},
  {"name": "stop", "match": {"severity": "low"}, "edit": "halt"},
  {"name": "count", "edit": ".a += ($insights | length)", "rationale": "{insights}"}
]}
EOF
	{
		records trend m shop critical
		records trend m shop low
		records trend m shop high
	} >in.ndjson
	run -1 "$PLAYBOOK" book.json comp <in.ndjson
	assert_line -n 0 'error: rule boom: config.json: boom'
	assert_line -n 1 'error: rule stop: config.json: the edit halted'
	assert_line -n 2 '{"rule":"count","file":"config.json","content":"{\n  \"a\": 4\n}\n","rationale":"i1"}'
}
