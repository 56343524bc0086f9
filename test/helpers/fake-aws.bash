# A fake AWS JSON endpoint for tests of sb's CloudWatch sources: a Node.js
# server (test/fake-aws/server.js) that checks each request's SigV4
# signature with AWS's own signer and answers from a script. Its npm
# packages are installed into test/fake-aws/node_modules, never committed.
#
#   setup_file() { load helpers/fake-aws; fake_aws_install; }
#   setup()      { load test_helper/common; load helpers/fake-aws; }
#   teardown()   { fake_aws_stop; }
#   @test ... { fake_aws_start script.json; curl ... "$FAKE_AWS_URL/"; fake_aws_requests | jq ...; }
#
# fake_aws_install          install the npm packages once (under a lock); without
#                           node or npm, or when npm fails, the tests skip
# fake_aws_start SCRIPT     start a server on a free loopback port with SCRIPT, a
#                           file or a JSON text; exports FAKE_AWS_URL
#                           (http://127.0.0.1:PORT) and FAKE_AWS_LOG (its stderr),
#                           sets FAKE_AWS_PID
# fake_aws_stop             stop the servers this test (or setup_file) started
# fake_aws_requests         print the requests the server received, a JSON array
# fake_aws_count            print how many POSTs it received
# fake_aws_script SCRIPT    replace its script (and start every target's answers over)
#
# test/fake-aws/README.md describes the script.
#
# Servers started in setup_file belong to setup_file: a test's teardown does
# not see their PIDs (they are not exported), teardown_file stops them.

FAKE_AWS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fake-aws" && pwd)

# shellcheck source=npm.bash
source "$(dirname "${BASH_SOURCE[0]}")/npm.bash"

fake_aws_install() {
	npm_install_once "$FAKE_AWS_DIR" "fake AWS endpoint" FAKE_AWS_SKIP @smithy/signature-v4/package.json
}

# _fake_aws_now_ms: the time in milliseconds, for deadlines.
_fake_aws_now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo "${t:0:-3}"
}

fake_aws_start() {
	local script=$1 dir pid port="" limit
	[ -n "${FAKE_AWS_SKIP:-}" ] && skip "$FAKE_AWS_SKIP"
	_fake_aws_installed || fake_aws_install
	[ -n "${FAKE_AWS_SKIP:-}" ] && skip "$FAKE_AWS_SKIP"
	dir=$(mktemp -d "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}/fake-aws.XXXXXX") || return 1
	# Close bats' fd 3, or bats would wait for the server to end.
	node "$FAKE_AWS_DIR/server.js" --port 0 --script "$script" \
		>"$dir/port" 2>"$dir/log" </dev/null 3>&- &
	pid=$!
	FAKE_AWS_PIDS="${FAKE_AWS_PIDS:-} $pid"
	FAKE_AWS_PID=$pid
	export FAKE_AWS_LOG="$dir/log"
	# The server prints its port once it accepts connections.
	limit=$(($(_fake_aws_now_ms) + 10000))
	until read -r port <"$dir/port" && [ -n "$port" ]; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$(_fake_aws_now_ms)" -gt "$limit" ]; then
			echo "fake AWS endpoint did not start; its log:" >&2
			cat "$dir/log" >&2
			return 1
		fi
		sleep 0.02
	done
	export FAKE_AWS_URL="http://127.0.0.1:$port"
}

fake_aws_stop() {
	local pid limit
	for pid in ${FAKE_AWS_PIDS:-}; do
		if kill "$pid" 2>/dev/null; then
			limit=$(($(_fake_aws_now_ms) + 5000))
			while kill -0 "$pid" 2>/dev/null && [ "$(sed -n 's/.*) \([A-Z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null)" != Z ]; do
				if [ "$(_fake_aws_now_ms)" -gt "$limit" ]; then
					kill -9 "$pid" 2>/dev/null
					break
				fi
				sleep 0.02
			done
		fi
		wait "$pid" 2>/dev/null || true
	done
	FAKE_AWS_PIDS=
	# shellcheck disable=SC2034 # for the tests
	FAKE_AWS_PID=
	unset FAKE_AWS_URL
	return 0
}

# _fake_aws_get PATH: the body of GET PATH on the server, failing on an HTTP error.
_fake_aws_get() {
	curl -fsS --max-time 10 "${FAKE_AWS_URL:?no fake AWS endpoint started}$1"
}

fake_aws_requests() { _fake_aws_get /_requests && echo; }
fake_aws_count() { _fake_aws_get /_count && echo; }

fake_aws_script() {
	local json=$1
	[ -f "$json" ] && json=$(cat "$json")
	curl -fsS --max-time 10 -H 'Content-Type: application/json' --data-binary "$json" \
		"${FAKE_AWS_URL:?no fake AWS endpoint started}/_script"
}
