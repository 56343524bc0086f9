#!/usr/bin/env bats
# Crash consistency: sb-deploy and sb-rollback killed with SIGKILL at random
# points. After each kill every file of the component is exactly its old or
# its new version, the journal says which state the component is in, and the
# next run puts an interrupted deployment back.

setup() {
	load test_helper/common
	load helpers/deploy
	deploy_setup
	standard_change c0 >ch.ndjson
	tree_sum shop >old.sum
	file_sums old
	# How long each takes here: the kills are spread over that time.
	deploy_us=$(elapsed_us sb-deploy --yes ch.ndjson)
	tree_sum shop >new.sum
	file_sums new
	rollback_us=$(elapsed_us sb-rollback "$(last_deployment)")
	assert_equal "$(tree_sum shop)" "$(cat old.sum)"
}

FILES="config.json lib/extra/helper.py OVERVIEW.md"

# file_states: per file the change touches, "PATH MODE HASH" or "PATH absent" (two processes, not one per file)
file_states() {
	local f
	local -A mode hash
	# shellcheck disable=SC2086
	while read -r a b; do mode[$b]=$a; done < <(cd shop && stat -c '%a %n' $FILES 2>/dev/null)
	# shellcheck disable=SC2086
	while read -r a b; do hash[$b]=$a; done < <(cd shop && sha256sum $FILES 2>/dev/null)
	for f in $FILES; do
		if [ -n "${mode[$f]:-}" ]; then echo "$f ${mode[$f]} ${hash[$f]}"; else echo "$f absent"; fi
	done
}

# file_sums NAME: remember file_states as NAME
file_sums() {
	file_states >"$1.states"
}

# every file exactly old or new, never a mix within one file
files_old_or_new() {
	! file_states | grep -vxF -f old.states -f new.states
}

# last_phase ID: the last journal phase of a deployment, or "none"
last_phase() {
	jq -rn --arg id "$1" '[inputs | select(.deployment == $id) | .phase] | last // "none"' \
		"$SB_STATE_DIR/deployments.ndjson"
}

# deployment_of CHANGE: the id of the deployment of a change and its last phase, or "- none"
deployment_of() {
	jq -rn --arg c "$1" '[inputs] | (map(select(.change == $c and .phase == "begin"))[0].deployment) as $id
		| if $id then "\($id) \(map(select(.deployment == $id)) | last.phase)" else "- none" end' \
		"$SB_STATE_DIR/deployments.ndjson"
}

# kill_at MICROSECONDS COMMAND...: run COMMAND, SIGKILL it after that long (if still running)
kill_at() {
	local delay=$1 pid
	shift
	"$@" >/dev/null 2>&1 3>&- &
	pid=$!
	sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# elapsed_us COMMAND...: how long COMMAND takes, in microseconds
elapsed_us() {
	local t0=${EPOCHREALTIME/./}
	"$@" >/dev/null 2>&1
	echo $((${EPOCHREALTIME/./} - t0))
}

@test "kill -9 during sb-deploy, 55 times: files old or new, journal says which, the next run recovers" {
	n=55 interrupted=0
	span=$((deploy_us * 12 / 10))
	for trial in $(seq $n); do
		sed "s/\"id\":\"c0\"/\"id\":\"k$trial\"/" ch.ndjson >k.ndjson
		kill_at $((RANDOM * span / 32768)) sb-deploy --yes k.ndjson
		files_old_or_new
		read -r id phase <<<"$(deployment_of "k$trial")"
		case $phase in
		none) assert_equal "$(file_states)" "$(cat old.states)" ;;
		done) assert_equal "$(file_states)" "$(cat new.states)" ;;
		begin | applied) interrupted=$((interrupted + 1)) ;;
		*) fail "unexpected phase $phase" ;;
		esac
		# The next run finishes the job: an interrupted deployment is put back.
		run -0 sb-deploy </dev/null
		[ "$phase" = none ] || assert_equal "$(last_phase "$id")" done
		if [ "$phase" = done ]; then
			run -0 sb-rollback "$id"
		fi
		assert_equal "$(tree_sum shop)" "$(cat old.sum)"
	done
	echo "# $interrupted of $n runs were killed between begin and done" >&3
	[ "$interrupted" -gt 0 ]
	# Nothing is left unfinished.
	assert_equal "$(sb_unfinished)" ""
	[ "$(sb-audit-verify)" = ok ]
}

@test "kill -9 during sb-rollback, 50 times: files old or new, journal says which, the next run recovers" {
	n=50 interrupted=0
	for trial in $(seq $n); do
		sed "s/\"id\":\"c0\"/\"id\":\"r$trial\"/" ch.ndjson >r.ndjson
		run -0 sb-deploy --yes r.ndjson
		id=$(jq -r .id <<<"$output")
		kill_at $((RANDOM * rollback_us * 12 / 10 / 32768)) sb-rollback "$id"
		files_old_or_new
		phase=$(last_phase "$id")
		case $phase in
		done) assert_equal "$(file_states)" "$(cat new.states)" ;;
		rollback_done) assert_equal "$(file_states)" "$(cat old.states)" ;;
		rollback_begin) interrupted=$((interrupted + 1)) ;;
		*) fail "unexpected phase $phase" ;;
		esac
		run -0 sb-rollback </dev/null
		[ "$phase" != rollback_begin ] || assert_equal "$(last_phase "$id")" rollback_done
		if [ "$(last_phase "$id")" = done ]; then
			run -0 sb-rollback "$id"
		fi
		assert_equal "$(tree_sum shop)" "$(cat old.sum)"
	done
	assert_equal "$(sb_unfinished)" ""
	echo "# $interrupted of $n rollbacks were killed between rollback_begin and rollback_done" >&3
	[ "$interrupted" -gt 0 ]
	[ "$(sb-audit-verify)" = ok ]
}

# sb_unfinished: deployments whose last journal phase is begin, applied or rollback_begin
sb_unfinished() {
	jq -rs 'group_by(.deployment)[] | select(last.phase | IN("begin", "applied", "rollback_begin")) | .[0].deployment' \
		"$SB_STATE_DIR/deployments.ndjson"
}

last_deployment() {
	jq -r 'select(.phase == "begin") | .deployment' "$SB_STATE_DIR/deployments.ndjson" | tail -1
}

# sb-audit-verify: "ok" when every audit entry is whole JSON chained to a previous hash
sb-audit-verify() {
	jq -e -s 'length > 0 and all(.[]; (.prev | test("^[0-9a-f]{64}$")) and (.action | type) == "string")' \
		"$SB_STATE_DIR/audit.ndjson" >/dev/null && echo ok
}
