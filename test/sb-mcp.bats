#!/usr/bin/env bats
# sb-mcp, the MCP server over stdio, fed hand-written JSON-RPC lines: the
# legacy handshake (initialize, ping, tools/list), the modern per-request
# envelope (server/discover, enveloped tools/list, -32022), every JSON-RPC
# error, notifications, and the four tools against state directories built
# by hand or by real cycles on the sample component of
# test/helpers/deploy.bash; cancellation and --call-timeout of a slow call
# through a FIFO, one line at a time.

setup() {
	load test_helper/common
	load helpers/deploy
	load helpers/fake-llm
	deploy_setup
	NOW=$(date -u +%s)
	MCP_OPTS=()
	MCP_PID=
}

teardown() {
	fake_llm_stop
	mcp_stop
}

# req ID METHOD [PARAMS]: a JSON-RPC request line
req() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"%s"%s}\n' "$1" "$2" "${3:+,\"params\":$3}"
}

# note METHOD [PARAMS]: a notification line
note() {
	printf '{"jsonrpc":"2.0","method":"%s"%s}\n' "$1" "${2:+,\"params\":$2}"
}

# init [VERSION]: initialize (id 0) and notifications/initialized
init() {
	req 0 initialize "{\"protocolVersion\":\"${1:-2025-11-25}\",\"capabilities\":{},\"clientInfo\":{\"name\":\"bats\",\"version\":\"1.0.0\"}}"
	note notifications/initialized
}

# call ID TOOL [ARGUMENTS-JSON]: a tools/call request
call() {
	local args=${3:-'{}'}
	req "$1" tools/call "{\"name\":\"$2\",\"arguments\":$args}"
}

# The modern envelope, and one with VERSION and more _meta merged in.
MODERN='{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
modern() {
	local p=${1:-'{}'}
	jq -cn --argjson m "$MODERN" --argjson p "$p" '$p * {_meta: $m}'
}

# all_json TEXT: every line of TEXT is one JSON object (nothing else on stdout)
all_json() {
	[ -z "$1" ] && return 0
	jq -Rne '[inputs | try (fromjson | type == "object") catch false] | all' <<<"$1" >/dev/null && return 0
	printf 'stdout is not JSON lines:\n%s\n' "$1" >&2
	return 1
}

# mcp LINE...: the lines on sb-mcp's standard input (options in MCP_OPTS), which must
# exit 0 at their end; its answers in $output, each line checked to be JSON
mcp() {
	printf '%s\n' "$@" >req.ndjson
	run -0 --separate-stderr timeout 20 sb-mcp "${MCP_OPTS[@]}" <req.ndjson
	all_json "$output"
}

# answer ID [FILTER]: FILTER applied to the answer to request ID (a JSON value), keys sorted
answer() {
	jq -cS --argjson id "$1" "select(.id == \$id) | ${2:-.}" <<<"$output"
}

# result ID [FILTER]: FILTER applied to the structuredContent of the answer to tools/call ID,
# after checking that its text content is that same JSON
result() {
	assert_equal "$(answer "$1" '(.result.content[0].text | fromjson) == .result.structuredContent and .result.content[0].type == "text"')" true
	answer "$1" ".result.structuredContent | ${2:-.}"
}

# Interactive sessions: sb-mcp reading from and writing to FIFOs, one line at a time.
# mcp_start (options in MCP_OPTS); mcp_send LINE; mcp_recv (the next line in $line, 10 s at most);
# mcp_recv_id ID (lines up to the answer to ID, which must come within 10 s); mcp_end
# (close its input, the rest of its output in $rest, wait for its exit status in $status).
mcp_start() {
	rm -f mcp.in mcp.out
	mkfifo mcp.in mcp.out
	timeout 60 sb-mcp "${MCP_OPTS[@]}" <mcp.in >mcp.out 2>mcp.err 3>&- &
	MCP_PID=$!
	exec {MCP_W}>mcp.in {MCP_R}<mcp.out
}

mcp_send() {
	printf '%s\n' "$1" >&"$MCP_W"
}

mcp_recv() {
	line=
	if ! IFS= read -r -t 10 line <&"$MCP_R"; then
		echo "no line from sb-mcp within 10 s; its stderr:" >&2
		cat mcp.err >&2
		return 1
	fi
	echo "$line" >>mcp.log
	all_json "$line"
}

mcp_recv_id() {
	local i
	for i in $(seq 20); do
		mcp_recv || return 1
		[ "$(jq -c --argjson id "$1" '.id == $id' <<<"$line")" = true ] && return 0
	done
	echo "no answer to $1" >&2
	return 1
}

mcp_end() {
	exec {MCP_W}>&-
	rest=$(timeout 10 cat <&"$MCP_R")
	exec {MCP_R}<&-
	all_json "$rest"
	status=0
	wait "$MCP_PID" || status=$?
	MCP_PID=
}

mcp_stop() {
	local pid
	if [ -n "${MCP_PID:-}" ]; then
		kill "$MCP_PID" 2>/dev/null || true
		wait "$MCP_PID" 2>/dev/null || true
		MCP_PID=
	fi
	# What a failed test may leave behind: the slow health commands it started.
	for pid in $(test_procs | cut -d' ' -f1); do
		kill -9 "$pid" 2>/dev/null || true
	done
}

# test_procs: the processes still running with this test's environment (CTL), sb-mcp and timeout aside
test_procs() {
	local f p comm
	for f in $(grep -lzx "CTL=$CTL" /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/environ}
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in sb-mcp | timeout) continue ;; esac
		echo "$p $comm $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}

# wait_for COMMAND...: run it until it succeeds, 10 s at most
wait_for() {
	local limit
	limit=$(deadline 10)
	until "$@"; do
		if past_deadline "$limit"; then
			echo "still false after 10 s: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}


# cycle_config [JSON]: c.json with logs.ndjson as the cycle's source, tenant acme, and JSON merged
cycle_config() {
	pool_errors >logs.ndjson
	local x=${1:-'{}'}
	deploy_config "$(jq -cn --arg l "$PWD/logs.ndjson" --argjson x "$x" '{cycle: {sources: [[$l]]}, tenants: ["acme"]} * $x')"
}

cycle_dirs() {
	find "$SB_STATE_DIR/cycles" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort
}

TOOLS='["generate_component","get_system_status","query_telemetry_insights","trigger_improvement_cycle"]'
VERSIONS='["2026-07-28","2025-11-25","2025-06-18"]'

# ---------------------------------------------------------------------------------------------
# The protocol

@test "initialize echoes 2025-06-18 and 2025-11-25, answers any other version with 2025-11-25" {
	for v in 2025-06-18 2025-11-25 2024-11-05 2026-07-28 1.0; do
		mcp "$(init "$v")"
		assert_equal "$(wc -l <<<"$output")" 1
		assert_equal "$(answer 0 '.jsonrpc')" '"2.0"'
		want=$v
		case $v in 2025-06-18 | 2025-11-25) ;; *) want=2025-11-25 ;; esac
		assert_equal "$(answer 0 '.result.protocolVersion')" "\"$want\""
	done
	assert_equal "$(answer 0 '.result | [.capabilities, .serverInfo, (.instructions | type)]')" \
		'[{"tools":{"listChanged":false}},{"name":"sb-mcp","title":"sb","version":"0.1.0"},"string"]'
	assert_equal "$(answer 0 '.result | has("resultType")')" false
}

@test "ping answers {}, before and after initialize; notifications get no answer" {
	mcp "$(req '"p0"' ping)" "$(init)" "$(req '"p1"' ping)" \
		"$(note notifications/cancelled '{"requestId":"nosuch"}')" "$(note notifications/whatever '{"x":1}')" \
		'{"jsonrpc":"2.0","method":"ping"}' "$(req 2 ping '{}')"
	assert_equal "$(wc -l <<<"$output")" 4
	assert_equal "$(answer '"p0"')" '{"id":"p0","jsonrpc":"2.0","result":{}}'
	assert_equal "$(answer '"p1"')" '{"id":"p1","jsonrpc":"2.0","result":{}}'
	assert_equal "$(answer 2)" '{"id":2,"jsonrpc":"2.0","result":{}}'
	assert_equal "$(jq -c .id <<<"$output" | paste -sd' ')" '"p0" 0 "p1" 2'
	# A notification alone: nothing at all on stdout.
	mcp "$(note notifications/initialized)" "$(note notifications/cancelled '{"requestId":1}')"
	assert_output ''
}

@test "tools/list: the four tools, each with object input and output schemas, no nextCursor" {
	mcp "$(init)" "$(req 1 tools/list)" "$(req 2 tools/list '{}')"
	assert_equal "$(answer 1 '[.result.tools[].name] | sort')" "$TOOLS"
	assert_equal "$(answer 1 '.result | keys')" '["tools"]'
	assert_equal "$(answer 1 '[.result.tools[] | .inputSchema.type == "object" and .outputSchema.type == "object" and (.description | type == "string")] | all')" true
	assert_equal "$(answer 1 '.result.tools[] | select(.name == "generate_component") | .inputSchema.required | sort')" \
		'["component_type","requirements"]'
	assert_equal "$(answer 1 '.result.tools[] | select(.name == "trigger_improvement_cycle") | .inputSchema.properties | keys')" \
		'["analysis_window_hours","max_improvements","tenant_id"]'
	assert_equal "$(answer 1 '.result.tools[] | select(.name == "query_telemetry_insights") | .inputSchema.properties | keys')" \
		'["metric_name","tenant_id","time_range_hours"]'
	assert_equal "$(answer 2 '.result.tools | length')" 4
}

@test "tools/list with a cursor, or a cursor that is not a string: -32602" {
	mcp "$(init)" "$(req 1 tools/list '{"cursor":"abc"}')" "$(req 2 tools/list '{"cursor":5}')" "$(req 3 ping)"
	assert_equal "$(answer 1 '.error.code')" -32602
	assert_regex "$(answer 1 '.error.message')" '[Ii]nvalid cursor'
	assert_equal "$(answer 1 'has("result")')" false
	assert_equal "$(answer 2 '.error.code')" -32602
	assert_equal "$(answer 3 '.result')" '{}'
}

@test "server/discover, bare and enveloped: versions, capabilities, ttlMs, cacheScope, serverInfo" {
	mcp "$(req 1 server/discover)" "$(req 2 server/discover "$(modern)")"
	for id in 1 2; do
		assert_equal "$(answer $id '.result | [.resultType, .supportedVersions, .capabilities, .ttlMs, .cacheScope, (.instructions | type)]')" \
			"[\"complete\",$VERSIONS,{\"tools\":{}},3600000,\"public\",\"string\"]"
		assert_equal "$(answer $id '.result._meta["io.modelcontextprotocol/serverInfo"] | [.name, .version]')" '["sb-mcp","0.1.0"]'
	done
}

@test "modern requests without initialize: enveloped tools/list, ping and tools/call" {
	mcp "$(req 1 tools/list "$(modern)")" "$(req 2 ping "$(modern)")" \
		"$(req 3 tools/call "$(modern '{"name":"get_system_status","arguments":{}}')")"
	assert_equal "$(answer 1 '.result | [.resultType, .ttlMs, .cacheScope, ([.tools[].name] | sort)]')" \
		"[\"complete\",3600000,\"public\",$TOOLS]"
	assert_equal "$(answer 1 '.result._meta["io.modelcontextprotocol/serverInfo"].name')" '"sb-mcp"'
	assert_equal "$(answer 2 '.result')" '{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"sb-mcp","title":"sb","version":"0.1.0"}},"resultType":"complete"}'
	assert_equal "$(answer 3 '.result | [.resultType, .isError // false, (.structuredContent.records | type)]')" '["complete",false,"array"]'
	assert_equal "$(answer 3 '.result._meta["io.modelcontextprotocol/serverInfo"].name')" '"sb-mcp"'
}

@test "modern: an unsupported version is -32022 with supported and requested; no clientCapabilities is -32602" {
	bad='{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}'
	nocaps='{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}'
	mcp "$(req 1 tools/list "$bad")" "$(req 2 tools/list "$nocaps")" "$(req 4 tools/list "$(modern)")"
	assert_equal "$(answer 1 '.error')" \
		"{\"code\":-32022,\"data\":{\"requested\":\"2099-01-01\",\"supported\":$VERSIONS},\"message\":\"Unsupported protocol version\"}"
	assert_equal "$(answer 2 '[.error.code, has("result")]')" '[-32602,false]'
	# Nothing carries over: the next good request is served.
	assert_equal "$(answer 4 '.result.resultType')" '"complete"'
}

@test "every error code: -32700, -32600, -32601, -32602; the server goes on" {
	mcp '{bad' \
		'[{"jsonrpc":"2.0","id":1,"method":"ping"}]' \
		'{"id":2,"method":"ping"}' \
		'{"jsonrpc":"1.0","id":3,"method":"ping"}' \
		'{"jsonrpc":"2.0","id":4,"method":7}' \
		'"hello"' \
		"$(req 5 nosuch/method)" \
		"$(init)" \
		"$(call 6 nosuch_tool)" \
		"$(req 7 tools/call '{"arguments":{}}')" \
		"$(req 8 ping)"
	assert_equal "$(wc -l <<<"$output")" 11
	assert_equal "$(sed -n 1p <<<"$output" | jq -cS .)" '{"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"}'
	# The array and the string: -32600 with id null.
	assert_equal "$(sed -n '2p;6p' <<<"$output" | jq -c '[.id, .error.code]' | paste -sd' ')" '[null,-32600] [null,-32600]'
	for id in 2 3 4; do
		assert_equal "$(answer $id '.error.code')" -32600
	done
	assert_equal "$(answer 5 '.error.code')" -32601
	assert_equal "$(answer 6 '.error')" '{"code":-32602,"message":"Unknown tool: nosuch_tool"}'
	assert_equal "$(answer 7 '.error.code')" -32602
	assert_equal "$(answer 8)" '{"id":8,"jsonrpc":"2.0","result":{}}'
	# Every answer is JSON-RPC 2.0 with an error or a result, never both.
	assert_equal "$(jq -c '.jsonrpc == "2.0" and ((has("error")) != (has("result")))' <<<"$output" | sort -u)" true
}

@test "only JSON lines on stdout, diagnostics on stderr; exit 0 at end of input; options" {
	MCP_OPTS=(-v)
	mcp "$(init)" 'x' "$(call 1 get_system_status)" "$(call 2 trigger_improvement_cycle '{"max_improvements":0}')" "$(req 3 ping)"
	assert_equal "$(wc -l <<<"$output")" 5
	run -0 sb-mcp -V
	run -0 sb-mcp -h
	run -2 --separate-stderr sb-mcp --status-ttl nonsense </dev/null
	assert_output ''
	run -2 --separate-stderr sb-mcp --no-such-option </dev/null
	assert_output ''
	run -0 --separate-stderr timeout 10 sb-mcp </dev/null
	assert_output ''
}

# ---------------------------------------------------------------------------------------------
# get_system_status

# a deployment journal: deployments dep-1 .. dep-N of shop
journal() {
	local i
	mkdir -p state
	for i in $(seq "$1"); do
		printf '{"deployment":"dep-%d","phase":"begin","component":"shop","change":"ch-%d","started":"2026-11-25T1%d:00:00Z","ts":"2026-11-25T1%d:00:00Z"}\n' "$i" "$i" "$i" "$i"
	done >state/deployments.ndjson
}

@test "get_system_status: sb-status's records, cached within --status-ttl, never with --status-ttl 0" {
	export SB_NOW=2026-11-25T18:00:00Z
	journal 1
	mcp_start
	mcp_send "$(init)"
	mcp_recv_id 0
	mcp_send "$(call 1 get_system_status)"
	mcp_recv_id 1
	first=$line
	assert_equal "$(jq -c '.result.isError // false' <<<"$first")" false
	assert_equal "$(jq -c '.result.structuredContent | [.cached, (.generated | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"))]' <<<"$first")" '[false,true]'
	assert_equal "$(jq -c '.result.structuredContent.records | map(select(.kind == "totals"))[0].deployments.total' <<<"$first")" 1
	assert_equal "$(jq -c '.result.structuredContent.records | map(select(.kind == "component"))[0] | [.type, .component]' <<<"$first")" '["status","shop"]'
	assert_equal "$(jq -c '(.result.content[0].text | fromjson) == .result.structuredContent' <<<"$first")" true
	# A new deployment in the journal: the cached answer does not see it yet.
	journal 2
	mcp_send "$(call 2 get_system_status)"
	mcp_recv_id 2
	assert_equal "$(jq -c '.result.structuredContent | [.cached, (.records | map(select(.kind == "totals"))[0].deployments.total)]' <<<"$line")" '[true,1]'
	assert_equal "$(jq -c .result.structuredContent.generated <<<"$line")" "$(jq -c .result.structuredContent.generated <<<"$first")"
	mcp_end
	assert_equal "$status" 0
	assert_equal "$rest" ''
	# --status-ttl 0: every call runs sb-status.
	MCP_OPTS=(--status-ttl 0)
	mcp "$(init)" "$(call 1 get_system_status)" "$(call 2 get_system_status)"
	assert_equal "$(result 1 '[.cached, (.records | map(select(.kind == "totals"))[0].deployments.total)]')" '[false,2]'
	assert_equal "$(result 2 '.cached')" false
}

# ---------------------------------------------------------------------------------------------
# query_telemetry_insights

# insights_state: cycles of tenant acme (11:30, 30 min ago), beta (09:00) and none (five days ago), each with insights
insights_state() {
	export SB_NOW=2026-11-25T12:00:00Z
	jq -n --arg p "$PWD/shop" '{components: {shop: {path: $p, tenant: "acme"}, api: {path: $p, tenant: "beta"}}}' >c.json
	local d=state/cycles
	mkdir -p $d/20261125T113000-aaaa $d/20261125T090000-bbbb $d/20261120T100000-cccc
	echo '{"id":"20261125T113000-aaaa","start":"2026-11-25T11:30:00Z","end":"2026-11-25T11:31:00Z","status":"completed","exit":0,"tenant":"acme","stages":[]}' >$d/20261125T113000-aaaa/cycle.json
	cat >$d/20261125T113000-aaaa/2-analyze.ndjson <<'EOF'
{"type":"insight","id":"i-a1","ts":"2026-11-25T11:30:10Z","kind":"degradation","metric":"latency_p95_ms","severity":"high","summary":"p95 latency of shop rose","component":"shop","tenant":"acme","evidence":{"change_pct":40}}
{"type":"insight","id":"i-a2","ts":"2026-11-25T11:30:10Z","kind":"error_pattern","pattern":"Timeout calling pricing after <*> ms","severity":"medium","summary":"timeouts in shop","component":"shop","tenant":"acme","evidence":{"count":40}}
{"type":"event","ts":"2026-11-25T11:29:00Z","event":"alarm","name":"HighLatency","state":"ALARM","tenant":"acme"}
EOF
	echo '{"id":"20261125T090000-bbbb","start":"2026-11-25T09:00:00Z","end":"2026-11-25T09:01:00Z","status":"completed","exit":0,"tenant":"beta","stages":[]}' >$d/20261125T090000-bbbb/cycle.json
	cat >$d/20261125T090000-bbbb/2-analyze.ndjson <<'EOF'
{"type":"insight","id":"i-b1","ts":"2026-11-25T09:00:10Z","kind":"anomaly","metric":"latency_p95_ms","severity":"low","summary":"a latency spike in api","component":"api","tenant":"beta","evidence":{"z":3.5}}
{"type":"insight","id":"i-b2","ts":"2026-11-25T09:00:10Z","kind":"trend","metric":"error_rate","severity":"medium","summary":"api's error rate climbs","component":"api","tenant":"beta","evidence":{"slope":0.1}}
EOF
	echo '{"id":"20261120T100000-cccc","start":"2026-11-20T10:00:00Z","end":"2026-11-20T10:01:00Z","status":"completed","exit":0,"tenant":null,"stages":[]}' >$d/20261120T100000-cccc/cycle.json
	echo '{"type":"insight","id":"i-c1","ts":"2026-11-20T10:00:10Z","kind":"degradation","metric":"latency_p95_ms","severity":"critical","summary":"old","component":"shop","evidence":{}}' >$d/20261120T100000-cccc/2-analyze.ndjson
}

ids='[.insights[].id] | sort'

@test "query_telemetry_insights: the insights of recent cycles, by metric_name and time_range_hours (SB_NOW)" {
	insights_state
	mcp "$(init)" \
		"$(call 1 query_telemetry_insights)" \
		"$(call 2 query_telemetry_insights '{"metric_name":"latency_p95_ms"}')" \
		"$(call 3 query_telemetry_insights '{"time_range_hours":2}')" \
		"$(call 4 query_telemetry_insights '{"time_range_hours":240}')" \
		"$(call 5 query_telemetry_insights '{"metric_name":"latency_p95_ms","time_range_hours":240}')" \
		"$(call 6 query_telemetry_insights '{"metric_name":"nosuch"}')" \
		"$(call 7 query_telemetry_insights '{"time_range_hours":0}')"
	assert_equal "$(result 1 "[($ids), .cycles]")" '[["i-a1","i-a2","i-b1","i-b2"],2]'
	# The records themselves, unchanged.
	assert_equal "$(result 1 '.insights[] | select(.id == "i-a1")')" \
		"$(sed -n 1p state/cycles/20261125T113000-aaaa/2-analyze.ndjson | jq -cS .)"
	assert_equal "$(result 2 "$ids")" '["i-a1","i-b1"]'
	assert_equal "$(result 3 "[($ids), .cycles]")" '[["i-a1","i-a2"],1]'
	assert_equal "$(result 4 "[($ids), .cycles]")" '[["i-a1","i-a2","i-b1","i-b2","i-c1"],3]'
	assert_equal "$(result 5 "$ids")" '["i-a1","i-b1","i-c1"]'
	assert_equal "$(result 6 "[($ids), .cycles]")" '[[],2]'
	# time_range_hours must be above 0.
	assert_equal "$(answer 7 '.result.isError')" true
	# Another SB_NOW, a day later: nothing within 24 hours.
	export SB_NOW=2026-11-26T20:00:00Z
	mcp "$(call 1 query_telemetry_insights)"
	assert_equal "$(result 1 "[($ids), .cycles]")" '[[],0]'
}

@test "query_telemetry_insights: tenant_id, an unknown tenant, a server pinned with --tenant" {
	insights_state
	mcp "$(init)" \
		"$(call 1 query_telemetry_insights '{"tenant_id":"beta"}')" \
		"$(call 2 query_telemetry_insights '{"tenant_id":"acme","metric_name":"latency_p95_ms"}')" \
		"$(call 3 query_telemetry_insights '{"tenant_id":"nosuch"}')"
	assert_equal "$(result 1 "$ids")" '["i-b1","i-b2"]'
	assert_equal "$(result 2 "$ids")" '["i-a1"]'
	assert_equal "$(answer 3 '.result.isError')" true
	assert_regex "$(answer 3 '.result.content[0].text')" 'unknown tenant.*nosuch'
	MCP_OPTS=(--tenant acme)
	mcp "$(init)" \
		"$(call 1 query_telemetry_insights)" \
		"$(call 2 query_telemetry_insights '{"tenant_id":"beta"}')" \
		"$(call 3 query_telemetry_insights '{"tenant_id":"acme"}')"
	assert_equal "$(result 1 "$ids")" '["i-a1","i-a2"]'
	assert_equal "$(answer 2 '[.result.isError, has("error")]')" '[true,false]'
	assert_regex "$(answer 2 '.result.content[0].text')" 'serves tenant acme only'
	assert_equal "$(result 3 "$ids")" '["i-a1","i-a2"]'
}

# ---------------------------------------------------------------------------------------------
# trigger_improvement_cycle

@test "trigger_improvement_cycle: a whole cycle over the configured log source: its id, stages and change" {
	cycle_config
	before=$(tree_sum shop)
	mcp "$(init)" "$(call 1 trigger_improvement_cycle '{"analysis_window_hours":3,"max_improvements":1}')"
	assert_equal "$(answer 1 '.result.isError // false')" false
	assert_equal "$(cycle_dirs | wc -l)" 1
	dir=$(cycle_dirs)
	assert_equal "$(result 1 '.cycle_id')" "\"$(basename "$dir")\""
	assert_equal "$(result 1 '[.status, .exit]')" '["completed",0]'
	assert_equal "$(result 1 '[.stages[] | [.name, .records_in, .records_out, .exit]]')" \
		'[["stream",0,60,0],["analyze",60,1,0],["score",1,1,0],["gen",1,1,0],["validate",1,1,0],["deploy",1,1,0]]'
	# Autonomous improvements are off: the change is planned, not deployed.
	assert_equal "$(result 1 '[.changes[] | [.component, .status, .deployment, (.change | type)]]')" '[["shop","planned",null,"string"]]'
	assert_equal "$(result 1 '.changes[0].change')" "$(jq -c .id "$dir/5-validate.ndjson")"
	assert_equal "$(jq -c '[.window, .max, .tenant]' "$dir/cycle.json")" '[3,1,null]'
	assert_equal "$(tree_sum shop)" "$before"
	[ ! -e ctl/reloads ]
}

@test "trigger_improvement_cycle: tenant_id passed on as --tenant; an unknown tenant starts nothing; bad arguments" {
	cycle_config
	mcp "$(init)" "$(call 1 trigger_improvement_cycle '{"tenant_id":"nosuch"}')" \
		"$(call 2 trigger_improvement_cycle '{"max_improvements":"x"}')" \
		"$(call 3 trigger_improvement_cycle '{"analysis_window_hours":-1}')"
	assert_equal "$(answer 1 '.result.isError')" true
	assert_regex "$(answer 1 '.result.content[0].text')" 'unknown tenant.*nosuch'
	assert_equal "$(answer 2 '[.result.isError, has("error")]')" '[true,false]'
	assert_regex "$(answer 2 '.result.content[0].text')" 'max_improvements'
	assert_equal "$(answer 3 '.result.isError')" true
	assert_equal "$(cycle_dirs | wc -l)" 0
	mcp "$(init)" "$(call 1 trigger_improvement_cycle '{"tenant_id":"acme"}')"
	assert_equal "$(result 1 '[.status, .stages[0].records_out]')" '["completed",60]'
	assert_equal "$(jq -c '.tenant' "$(cycle_dirs)/cycle.json")" '"acme"'
}

@test "trigger_improvement_cycle while another cycle runs: isError" {
	cycle_config
	mkdir -p "$SB_STATE_DIR/locks/cycles"
	flock "$SB_STATE_DIR/locks/cycles/all.lock" sleep 5 3>&- &
	holder=$!
	sleep 0.3
	mcp "$(init)" "$(call 1 trigger_improvement_cycle)"
	kill "$holder" 2>/dev/null || true
	assert_equal "$(answer 1 '.result.isError')" true
	assert_regex "$(answer 1 '.result.content[0].text')" 'another cycle is running'
	assert_equal "$(cycle_dirs | wc -l)" 0
}

@test "a bad argument: isError in a 2025-11-25 session and a modern request, -32602 in a 2025-06-18 session" {
	cycle_config
	mcp "$(init 2025-11-25)" "$(call 1 trigger_improvement_cycle '{"max_improvements":"x"}')"
	assert_equal "$(answer 1 '[.result.isError, has("error"), (.result.content[0].type)]')" '[true,false,"text"]'
	mcp "$(init 2025-06-18)" "$(call 1 trigger_improvement_cycle '{"max_improvements":"x"}')" \
		"$(call 2 generate_component '{"component_type":"python-service"}')"
	assert_equal "$(answer 1 '[.error.code, has("result")]')" '[-32602,false]'
	assert_equal "$(answer 2 '.error.code')" -32602
	mcp "$(req 1 tools/call "$(modern '{"name":"trigger_improvement_cycle","arguments":{"max_improvements":"x"}}')")"
	assert_equal "$(answer 1 '[.result.isError, .result.resultType]')" '[true,"complete"]'
	assert_equal "$(cycle_dirs | wc -l)" 0
}

@test "cancellation: notifications/cancelled kills the running cycle, no answer for it ever, pings answered" {
	cycle_config '{"features": {"autonomous_improvements": true}}'
	echo 30 >ctl/health-sleep
	mcp_start
	mcp_send "$(init)"
	mcp_recv_id 0
	mcp_send "$(call 7 trigger_improvement_cycle)"
	wait_for grep -qs '^in ' ctl/health
	# The server answers while the call runs.
	mcp_send "$(req 8 ping)"
	mcp_recv
	assert_equal "$(jq -cS . <<<"$line")" '{"id":8,"jsonrpc":"2.0","result":{}}'
	[ -n "$(test_procs | grep -w sb-cycle)" ]
	mcp_send "$(note notifications/cancelled '{"requestId":7,"reason":"bats"}')"
	wait_for eval '[ -z "$(test_procs)" ]' || { echo "left running after the cancellation:" >&2; test_procs >&2; false; }
	[ -z "$(pgrep -f "$CTL/health.sh")" ]
	mcp_send "$(req 9 ping)"
	mcp_recv
	assert_equal "$(jq -cS . <<<"$line")" '{"id":9,"jsonrpc":"2.0","result":{}}'
	sleep 0.5
	mcp_end
	assert_equal "$status" 0
	assert_equal "$rest" ''
	run ! grep '"id":7' mcp.log
	# The journal was left unfinished; a new cycle can take the lock.
	echo 0 >ctl/health-sleep
	mcp "$(init)" "$(call 1 trigger_improvement_cycle)"
	assert_equal "$(result 1 '.cycle_id | type')" '"string"'
}

@test "--call-timeout: a slow call ends with isError 'timed out', its processes killed" {
	cycle_config '{"features": {"autonomous_improvements": true}}'
	echo 12 >ctl/health-sleep
	MCP_OPTS=(--call-timeout 1s)
	t0=$EPOCHREALTIME
	mcp "$(init)" "$(call 1 trigger_improvement_cycle)" "$(req 2 ping)"
	elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	assert_equal "$(answer 1 '.result.isError')" true
	assert_regex "$(answer 1 '.result.content[0].text')" 'timed out'
	assert_equal "$(answer 2 '.result')" '{}'
	grep -q '^in ' ctl/health
	# The answer came soon after the timeout, not once the 12 s health command ended.
	assert_equal "$(awk -v e="$elapsed" 'BEGIN { print (e < 8) ? "soon" : "after " e " s" }')" soon
	wait_for eval '[ -z "$(test_procs)" ]' || { echo "left running after the timeout:" >&2; test_procs >&2; false; }
}

# ---------------------------------------------------------------------------------------------
# generate_component

# llm_config [JSON]: c.json with component generation on, the fake server as an OpenAI model, JSON merged
llm_config() {
	export TEST_LLM_KEY=sk-test-0123456789
	local x=${1:-'{}'}
	mkdir -p health
	deploy_config "$(jq -cn --arg u "$FAKE_LLM_URL/v1" --arg h "$PWD/health" --argjson x "$x" '{
		components: {health: {path: $h, language: "python"}},
		features: {component_generation: true},
		llm: {provider: "openai", model: "gpt-test", url: $u, api_key_env: "TEST_LLM_KEY"}} * $x')"
}

@test "generate_component: sb-gen then sb-validate with the fake LLM; valid, nothing deployed" {
	fake_llm_start '{"key":"sk-test-0123456789","answers":[{"text":"A tiny health service.\n\nsrc/health.py\n```python\ndef health():\n    return \"ok\"\n```\n"}]}'
	llm_config
	mcp "$(init)" "$(call 1 generate_component '{"component_type":"python-service","requirements":"answer ok on /health","name":"health"}')"
	assert_equal "$(answer 1 '.result.isError // false')" false
	assert_equal "$(result 1 '[.valid, .validation.ok, .change.type, .change.component, [.change.files[] | [.path, .action]]]')" \
		'[true,true,"change","health",[["src/health.py","create"]]]'
	assert_regex "$(fake_llm_requests | jq -r '.[0].body.messages[1].content')" 'answer ok on /health'
	assert_equal "$(fake_llm_count)" 1
	# Nothing deployed.
	assert_equal "$(ls -A health)" ''
	[ ! -e ctl/reloads ]
	[ ! -e state/deployments.ndjson ]
	# The default name: new-python-service, which has no path in the configuration: not valid.
	mcp "$(init)" "$(call 1 generate_component '{"component_type":"python-service","requirements":"x"}')"
	assert_equal "$(result 1 '[.change.component, .valid, .validation.ok]')" '["new-python-service",false,false]'
}

@test "generate_component: component generation off, or no requirements: isError" {
	fake_llm_start '{"answers":[{"text":"nothing"}]}'
	llm_config '{"features": {"component_generation": false}}'
	mcp "$(init)" "$(call 1 generate_component '{"component_type":"python-service","requirements":"x","name":"health"}')" \
		"$(call 2 generate_component '{"component_type":"python-service"}')"
	assert_equal "$(answer 1 '.result.isError')" true
	assert_regex "$(answer 1 '.result.content[0].text')" 'component generation'
	assert_equal "$(answer 2 '.result.isError')" true
	assert_equal "$(fake_llm_count)" 0
}
