# A fake language-model server for sb-gen's tests: a Node.js server
# (test/fake-llm/server.js, Node's own modules only) that serves OpenAI's Chat
# Completions and Anthropic's Messages APIs on loopback, checks each request
# and answers from a script.
#
#   setup()    { load test_helper/common; load helpers/fake-llm; }
#   teardown() { fake_llm_stop; }    # or stop_servers (helpers/servers.bash)
#   @test ... { fake_llm_start script.json; sb-gen --url "$FAKE_LLM_URL/v1" ...; fake_llm_requests | jq ...; }
#
# fake_llm_start SCRIPT     start a server on a free loopback port with SCRIPT, a
#                           file or a JSON text, and wait until it listens; exports
#                           FAKE_LLM_URL (http://127.0.0.1:PORT), FAKE_LLM_PID and
#                           FAKE_LLM_LOG (its stderr). Its PID is remembered in
#                           SERVER_PIDS (default: a file in the test's temporary
#                           directory) so that stop_servers ends it too. Without
#                           node the test is skipped.
# fake_llm_stop             stop the servers this test (or setup_file) started
# fake_llm_requests         print the requests the server received, a JSON array
# fake_llm_count [API]      print how many requests it received (API: openai or
#                           anthropic, to count only those)
# fake_llm_script SCRIPT    replace its script (every answer list starts over)
# fake_llm_need             skip the test when the fake cannot run (no node)
#
# test/fake-llm/README.md describes the script.
#
# Servers started in setup_file belong to setup_file: stop them in
# teardown_file. Without node, fake_llm_start in setup_file (which cannot
# skip in bats 1.8) starts nothing and succeeds; the tests then call
# fake_llm_need, which skips them.

# shellcheck source=servers.bash
source "$(dirname "${BASH_SOURCE[0]}")/servers.bash"

FAKE_LLM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fake-llm" && pwd)

fake_llm_need() {
	command -v node >/dev/null && return 0
	if [ -n "${BATS_TEST_NAME:-}" ]; then
		skip "fake LLM server: node is needed"
	fi
	return 1
}

fake_llm_start() {
	local script=$1 dir pid port="" limit
	# In setup_file, which cannot skip, start nothing: the tests' fake_llm_need skips.
	fake_llm_need || return 0
	: "${SERVER_PIDS:=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}/server-pids}"
	dir=$(mktemp -d "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}/fake-llm.XXXXXX") || return 1
	# Close bats' fd 3, or bats would wait for the server to end.
	node "$FAKE_LLM_DIR/server.js" --port 0 --script "$script" \
		>"$dir/port" 2>"$dir/log" </dev/null 3>&- &
	pid=$!
	remember_pid "$pid"
	FAKE_LLM_PIDS="${FAKE_LLM_PIDS:-} $pid"
	export FAKE_LLM_PID=$pid FAKE_LLM_LOG="$dir/log"
	# The server prints its port once it accepts connections.
	limit=$(deadline 10)
	until read -r port <"$dir/port" && [ -n "$port" ]; do
		if ! kill -0 "$pid" 2>/dev/null || past_deadline "$limit"; then
			echo "fake LLM server did not start; its log:" >&2
			cat "$dir/log" >&2
			return 1
		fi
		sleep 0.02
	done
	wait_listening "$port" 5 || return 1
	export FAKE_LLM_URL="http://127.0.0.1:$port"
}

fake_llm_stop() {
	local pid
	for pid in ${FAKE_LLM_PIDS:-}; do
		if kill "$pid" 2>/dev/null; then
			wait_gone "$pid" 5 2>/dev/null || kill -9 "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null || true
	done
	FAKE_LLM_PIDS=
	unset FAKE_LLM_URL FAKE_LLM_PID
	return 0
}

# _fake_llm_get PATH: the body of GET PATH on the server, failing on an HTTP error.
_fake_llm_get() {
	curl -fsS --max-time 10 "${FAKE_LLM_URL:?no fake LLM server started}$1"
}

fake_llm_requests() { _fake_llm_get /_requests && echo; }
fake_llm_count() { _fake_llm_get "/_count${1:+?api=$1}" && echo; }

fake_llm_script() {
	local json=$1
	[ -f "$json" ] && json=$(cat "$json")
	curl -fsS --max-time 10 -X PUT -H 'Content-Type: application/json' --data-binary "$json" \
		"${FAKE_LLM_URL:?no fake LLM server started}/_script"
}
