#!/usr/bin/env bats
# sb-mcp driven by the official MCP TypeScript SDKs and the MCP Inspector:
# the v1 SDK (@modelcontextprotocol/sdk, legacy revisions), the v2 client
# (@modelcontextprotocol/client) with versionNegotiation legacy, auto and
# pinned to 2026-07-28, and the Inspector's command-line mode. The packages,
# pinned in test/mcp-sdk/package.json, are installed from the npm registry
# into test/mcp-sdk/node_modules (never committed) by setup_file; without
# node, npm or the registry, the tests skip.
#
# Each client script (test/mcp-sdk/*-client.mjs) spawns sb-mcp over
# StdioClientTransport, lists the tools, calls get_system_status,
# query_telemetry_insights, trigger_improvement_cycle and
# query_telemetry_insights again on the sample component of
# test/helpers/deploy.bash, and prints a JSON summary. The SDKs check each
# structuredContent against the tool's outputSchema and throw when it does
# not conform: a call that threw has an "error" in the summary.

MCP_SDK_DIR=$(cd "$BATS_TEST_DIRNAME/mcp-sdk" && pwd)

# mcp_sdk_install: the pinned packages, installed once (test/helpers/npm.bash)
mcp_sdk_install() {
	load helpers/npm
	npm_install_once "$MCP_SDK_DIR" "MCP SDKs" MCP_SDK_SKIP @modelcontextprotocol/client/package.json \
		@modelcontextprotocol/sdk/package.json @modelcontextprotocol/inspector/package.json
}

setup_file() {
	mcp_sdk_install
}

setup() {
	[ -n "${MCP_SDK_SKIP:-}" ] && skip "$MCP_SDK_SKIP"
	load test_helper/common
	load helpers/deploy
	deploy_setup
	NOW=$(date -u +%s)
	pool_errors >logs.ndjson
	deploy_config "{\"cycle\": {\"sources\": [[\"$PWD/logs.ndjson\"]]}}"
	SB_MCP=$SB_ROOT/bin/sb-mcp
	# sb-mcp as the clients spawn it, its standard input kept in mcp-in.log.
	cat >sb-mcp-tee <<-EOF
		#!/bin/sh
		tee -a "$PWD/mcp-in.log" | "$SB_MCP" "\$@"
	EOF
	chmod +x sb-mcp-tee
}


TOOLS='["generate_component","get_system_status","query_telemetry_insights","trigger_improvement_cycle"]'

# check_summary: the checks common to every client's summary in $output
check_summary() {
	assert_equal "$(jq -c '.tools | sort' <<<"$output")" "$TOOLS"
	assert_equal "$(jq -c '.outputSchemas | sort' <<<"$output")" "$TOOLS"
	assert_equal "$(jq -c .serverInfo.name <<<"$output")" '"sb-mcp"'
	assert_equal "$(jq -c '[.results[] | [.tool, .isError, .keys, .error]]' <<<"$output")" \
		'[["get_system_status",false,["cached","generated","records"],null],["query_telemetry_insights",false,["cycles","insights"],null],["trigger_improvement_cycle",false,["changes","cycle_id","exit","stages","status"],null],["query_telemetry_insights",false,["cycles","insights"],null]]'
	# The cycle planned the pool change; the insights then include the cycle's.
	assert_equal "$(jq -c '.calls.trigger_improvement_cycle.structuredContent | [.status, .exit, [.stages[].name], [.changes[] | [.component, .status]]]' <<<"$output")" \
		'["completed",0,["stream","analyze","score","gen","validate","deploy"],[["shop","planned"]]]'
	assert_equal "$(jq -c '.results[3].structuredContent | [.cycles >= 1, ([.insights[] | .component] | unique)]' <<<"$output")" \
		'[true,["shop"]]'
}

@test "the v1 SDK (@modelcontextprotocol/sdk): legacy initialize, tools listed and called, structuredContent conforms" {
	run -0 --separate-stderr node "$MCP_SDK_DIR/v1-client.mjs" "$SB_MCP"
	check_summary
	assert_equal "$(jq -c '[.era, .protocolVersion, .instructions]' <<<"$output")" '["legacy","2025-11-25",true]'
}

@test "the v2 client without versionNegotiation: the legacy era" {
	run -0 --separate-stderr node "$MCP_SDK_DIR/v2-client.mjs" legacy "$SB_MCP"
	check_summary
	assert_equal "$(jq -c '[.era, .protocolVersion, .discover]' <<<"$output")" '["legacy","2025-11-25",null]'
}

@test "the v2 client with versionNegotiation auto: server/discover, then the modern era" {
	run -0 --separate-stderr node "$MCP_SDK_DIR/v2-client.mjs" auto ./sb-mcp-tee
	check_summary
	assert_equal "$(jq -c '[.era, .protocolVersion, .discover.supportedVersions[0], .discover.resultType]' <<<"$output")" \
		'["modern","2026-07-28","2026-07-28","complete"]'
	# The probe went to a sibling process; no process got initialize, and
	# every request of the session carried the envelope.
	assert_equal "$(jq -s -c '[.[] | select(.method == "server/discover")] | length > 0' mcp-in.log)" true
	assert_equal "$(jq -s -c '[.[] | select(.method == "initialize")] | length' mcp-in.log)" 0
	assert_equal "$(jq -s -c '[.[] | select(.method == "tools/call") | .params._meta["io.modelcontextprotocol/protocolVersion"]] | unique' mcp-in.log)" \
		'["2026-07-28"]'
}

@test "the v2 client pinned to 2026-07-28: the modern era" {
	run -0 --separate-stderr node "$MCP_SDK_DIR/v2-client.mjs" 2026-07-28 "$SB_MCP"
	check_summary
	assert_equal "$(jq -c '[.era, .protocolVersion]' <<<"$output")" '["modern","2026-07-28"]'
}

@test "the MCP Inspector's command-line mode: tools/list and tools/call, legacy and modern" {
	local insp=$MCP_SDK_DIR/node_modules/.bin/mcp-inspector
	local env=(-e "SB_CONFIG=$SB_CONFIG" -e "SB_STATE_DIR=$SB_STATE_DIR" -e "PATH=$PATH")
	run -0 --separate-stderr "$insp" --cli ./sb-mcp-tee "${env[@]}" --method tools/list --format json
	assert_equal "$(jq -c '[.result.tools[].name] | sort' <<<"$output")" "$TOOLS"
	assert_equal "$(jq -s -c '[.[] | select(.method == "initialize") | .params.protocolVersion]' mcp-in.log)" '["2025-11-25"]'
	run -0 --separate-stderr "$insp" --cli "$SB_MCP" "${env[@]}" --method tools/call \
		--tool-name query_telemetry_insights --tool-arg time_range_hours=2 --format json
	assert_equal "$(jq -c '.result | [.isError, (.structuredContent | keys), .structuredContent.cycles]' <<<"$output")" \
		'[false,["cycles","insights"],0]'
	rm mcp-in.log
	run -0 --separate-stderr "$insp" --cli ./sb-mcp-tee "${env[@]}" --protocol-era modern --method tools/call \
		--tool-name get_system_status --format json
	assert_equal "$(jq -c '.result | [.isError, (.structuredContent | keys)]' <<<"$output")" '[false,["cached","generated","records"]]'
	assert_equal "$(jq -s -c '[.[] | select(.method == "tools/call") | .params._meta["io.modelcontextprotocol/protocolVersion"]]' mcp-in.log)" \
		'["2026-07-28"]'
	# An unknown tool: the Inspector's exit status 5.
	run -5 --separate-stderr "$insp" --cli "$SB_MCP" "${env[@]}" --method tools/call --tool-name nope --format json
	assert_regex "$stderr" 'tool_not_found'
}
