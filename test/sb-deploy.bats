#!/usr/bin/env bats
# sb-deploy on the sample component of test/helpers/deploy.bash: the gates
# (validation, digest, base, approval, window, feature flag), the journaled
# deployment, health failure, concurrency, recovery and notifications.

setup() {
	load test_helper/common
	load helpers/deploy
	load helpers/servers
	SERVER_PIDS="$BATS_TEST_TMPDIR/pids"
	deploy_setup
}

teardown() {
	stop_servers
}

journal() {
	cat "$SB_STATE_DIR/deployments.ndjson"
}

# at_once FILE1 FILE2: two sb-deploy --yes runs started together, their output in out1 and out2
at_once() {
	sb-deploy --yes "$1" >out1 3>&- &
	local p1=$!
	sb-deploy --yes "$2" >out2 3>&- &
	wait $p1 $!
}

@test "a validated change is deployed: files, modes, journal, snapshot, reload, health, record, audit" {
	standard_change >ch.ndjson
	new_config=$(jq -r '.files[] | select(.path == "config.json") | .content' ch.ndjson)
	run -0 sb-deploy --yes --monitor 30m ch.ndjson
	rec=$output
	assert_equal "$(jq -c '[.type, .change, .component, .status, .reason]' <<<"$rec")" \
		'["deployment","c1","shop","deployed","deployed and healthy"]'
	assert_regex "$(jq -r .id <<<"$rec")" '^dep-[0-9a-f]{16}$'
	assert_equal "$(jq -c .files <<<"$rec")" '["config.json","lib/extra/helper.py","OVERVIEW.md"]'
	# The files: new content, the old mode kept, the created file there, the deleted one gone.
	assert_equal "$(cat shop/config.json)" "$new_config"
	assert_equal "$(stat -c %a shop/config.json)" 640
	assert_equal "$(cat shop/lib/extra/helper.py)" $'def helper():\n    return 1'
	[ ! -e shop/OVERVIEW.md ]
	# No temporary file left behind.
	assert_equal "$(find shop -name '.*sb-*' | wc -l)" 0
	# monitor_until is finished + 30m.
	f=$(jq -r .finished <<<"$rec") m=$(jq -r .monitor_until <<<"$rec")
	assert_equal $(($(date -d "$m" +%s) - $(date -d "$f" +%s))) 1800
	# Reload once, health once, for this deployment.
	id=$(jq -r .id <<<"$rec")
	assert_equal "$(cat ctl/reloads)" "reload $id"
	assert_equal "$(jq -c '[.reload.ok, .health.ok, .health.attempts]' <<<"$rec")" '[true,true,1]'
	# The journal: begin, applied, done, with each file's hashes before and after.
	assert_equal "$(journal | jq -r .phase | paste -sd' ')" "begin applied done"
	assert_equal "$(journal | jq -c 'select(.phase == "begin") | .files | map([.path, .action, (.after_sha256 != null)])')" \
		'[["config.json","modify",true],["lib/extra/helper.py","create",true],["OVERVIEW.md","delete",false]]'
	assert_equal "$(journal | jq -r 'select(.phase == "begin") | .files[0].after_sha256')" "$(sha shop/config.json)"
	# The snapshot holds the manifest first and the pre-image of the files that existed.
	snap=$SB_STATE_DIR/$(jq -r .snapshot <<<"$rec")
	assert_equal "$(tar -tzf "$snap" | paste -sd' ')" ".sb-snapshot.json config.json OVERVIEW.md"
	assert_equal "$(tar -xzOf "$snap" .sb-snapshot.json | jq -c '[.files[] | [.path, .existed]], .dirs')" \
		$'[["config.json",true],["lib/extra/helper.py",false],["OVERVIEW.md",true]]\n["lib","lib/extra"]'
	assert_equal "$(jq -c 'select(.action == "deploy.deployed") | [.deployment, .change]' "$SB_STATE_DIR/audit.ndjson")" \
		"[\"$id\",\"c1\"]"
}

@test "zstd archives with --compression zstd; a bad value is a usage error" {
	standard_change >ch.ndjson
	run -0 sb-deploy --yes --compression zstd ch.ndjson
	assert_regex "$(jq -r .snapshot <<<"$output")" '\.tar\.zst$'
	run -2 sb-deploy --compression lz4 ch.ndjson
	assert_output --partial "compression"
}

@test "autonomous_improvements off: planned without --yes; on: deployed; --dry-run changes nothing" {
	standard_change >ch.ndjson
	tree_sum shop >before
	run -0 sb-deploy ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" planned
	assert_output --partial "run with --yes"
	assert_equal "$(tree_sum shop)" "$(cat before)"
	[ ! -e "$SB_STATE_DIR/deployments.ndjson" ]
	deploy_config '{"features": {"autonomous_improvements": true}}'
	run -0 sb-deploy --dry-run ch.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" "planned: dry run: would deploy"
	assert_equal "$(tree_sum shop)" "$(cat before)"
	[ ! -e "$SB_STATE_DIR/deployments.ndjson" ]
	run -0 sb-deploy ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" deployed
}

@test "refused: not validated, failed validation, tampered after validation, approval flag edited away" {
	change_json c1 "$(modify config.json '{}')" >raw.ndjson
	tree_sum shop >before
	run -1 sb-deploy --yes raw.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" "skipped: not validated: run sb-validate first"
	sb-validate raw.ndjson >v.ndjson
	jq -c '.validation.ok = false' v.ndjson >bad.ndjson
	run -1 sb-deploy --yes bad.ndjson
	assert_equal "$(jq -r .reason <<<"$output")" "failed validation"
	# One byte of content changed after validation.
	jq -c '.files[0].content = "{} "' v.ndjson >tampered.ndjson
	run -1 sb-deploy --yes tampered.ndjson
	assert_regex "$(jq -r .reason <<<"$output")" '^changed since it was validated'
	# A change that needs approval cannot lose that by an edit.
	jq -c '.requires_approval = true' raw.ndjson | sb-validate >gated.ndjson
	jq -c '.requires_approval = false' gated.ndjson >ungated.ndjson
	run -1 sb-deploy --yes ungated.ndjson
	assert_regex "$(jq -r .reason <<<"$output")" '^changed since it was validated'
	assert_equal "$(tree_sum shop)" "$(cat before)"
	[ ! -e "$SB_STATE_DIR/deployments.ndjson" ]
	assert_equal "$(jq -r .action "$SB_STATE_DIR/audit.ndjson" | sort -u)" deploy.skipped
}

@test "refused: a stale base, an unknown component, a change without files" {
	standard_change >ch.ndjson
	echo "# edited by hand" >>shop/config.json
	run -1 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r .reason <<<"$output")" "stale base: config.json changed since the change was made"
	assert_equal "$(tail -1 shop/config.json)" "# edited by hand"
	[ -e shop/OVERVIEW.md ]
	jq -c '.component = "nope"' ch.ndjson >other.ndjson
	run -1 sb-deploy --yes other.ndjson
	assert_equal "$(jq -r .reason <<<"$output")" "component 'nope' is not in the configuration"
	echo '{"type":"change","id":"c9","component":"shop","files":[]}' >empty.ndjson
	run -1 sb-deploy --yes empty.ndjson
	assert_equal "$(jq -r .reason <<<"$output")" "change without files"
}

@test "idempotent: a change already deployed is skipped, exit 0, nothing journaled again" {
	standard_change >ch.ndjson
	run -0 sb-deploy --yes ch.ndjson
	id=$(jq -r .id <<<"$output")
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" "skipped: already deployed as $id (deployed)"
	assert_equal "$(journal | jq -r 'select(.phase == "begin") | .deployment')" "$id"
	# Records of other types pass through unchanged, in order.
	{ echo '{"type":"metric","metric":"x","value":1}'; cat ch.ndjson; } >mixed.ndjson
	run -0 sb-deploy --yes mixed.ndjson
	assert_equal "$(jq -r .type <<<"$output" | paste -sd' ')" "metric deployment"
}

@test "approval: awaiting_approval and queued; --approve records it and the queue deploys it" {
	change_json c1 "$(modify config.json '{"a": 1}')" | jq -c '.scope = "system" | .requires_approval = true' |
		sb-validate --only-valid >ch.ndjson
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" \
		"awaiting_approval: requires approval: sb-deploy --approve c1"
	assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 1
	assert_equal "$(jq -r .status "$SB_STATE_DIR"/queue/*.json)" awaiting_approval
	# Queued, it is retried by a run with no input, still awaiting.
	run -0 sb-deploy --yes </dev/null
	assert_equal "$(jq -r .status <<<"$output")" awaiting_approval
	# --approve without files does not read stdin: a terminal would hang otherwise.
	run -0 --separate-stderr sb-deploy --yes --approve c1 --approver alice </dev/zero
	assert_equal "$stderr" "sb-deploy: change c1 approved by alice"
	assert_equal "$(jq -r .status <<<"$output")" deployed
	assert_equal "$(cat shop/config.json)" '{"a": 1}'
	assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 0
	assert_equal "$(jq -c 'select(.action == "deploy.approve") | [.change, .approver]' "$SB_STATE_DIR/audit.ndjson")" \
		'["c1","alice"]'
	assert_equal "$(jq -r .approver "$SB_STATE_DIR"/approvals/*.json)" alice
}

@test "approval: planned runs keep the queue; an approval covers exactly the files it saw" {
	gated() {
		change_json c1 "$(modify config.json "$1")" | jq -c '.scope = "system" | .requires_approval = true' |
			sb-validate --only-valid
	}
	gated '{"a": 1}' >ch.ndjson
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" awaiting_approval
	# Approved without --yes: planned, and still queued for a run with --yes.
	run -0 --separate-stderr sb-deploy --approve c1
	assert_equal "$(jq -r .status <<<"$output")" planned
	assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 1
	assert_equal "$(jq -r .digest "$SB_STATE_DIR"/approvals/*.json)" "$(jq -r .validation.digest ch.ndjson)"
	# The same id with other files, validated again: the approval does not cover it.
	rm "$SB_STATE_DIR"/queue/*.json
	gated '{"a": 2}' >edited.ndjson
	run -0 sb-deploy --yes edited.ndjson
	assert_equal "$(jq -r .status <<<"$output")" awaiting_approval
	rm "$SB_STATE_DIR"/queue/*.json
	# The approved one deploys.
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" deployed
	assert_equal "$(cat shop/config.json)" '{"a": 1}'
}

@test "the queue runs oldest first and keeps a change's first queued time" {
	deploy_config '{"components": {"shop": {"window": "02:00-04:00"}}}'
	for hour in 3 1 2; do
		validated "q$hour" "$(create "docs/q$hour.md" "q$hour")" >"q$hour.ndjson"
		SB_NOW=2026-11-25T1$hour:00:00Z run -0 sb-deploy --yes "q$hour.ndjson"
		assert_equal "$(jq -r --arg c "q$hour" 'select(.change == $c) | .status' <<<"$output")" deferred
	done
	SB_NOW=2026-11-25T18:00:00Z run -0 sb-deploy --yes </dev/null
	assert_equal "$(jq -r .change <<<"$output" | paste -sd' ')" "q1 q2 q3"
	assert_equal "$(jq -r .queued "$SB_STATE_DIR"/queue/*.json | sort | paste -sd' ')" \
		"2026-11-25T11:00:00Z 2026-11-25T12:00:00Z 2026-11-25T13:00:00Z"
}

@test "deploy window: deferred outside it and queued, deployed by a later run inside; TZ honoured" {
	deploy_config '{"components": {"shop": {"window": "02:00-04:00"}}}'
	standard_change >ch.ndjson
	SB_NOW=2026-11-25T10:00:00Z run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" \
		'deferred: outside the deploy window ["02:00-04:00"]'
	assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 1
	SB_NOW=2026-11-25T03:59:00Z run -0 sb-deploy --yes </dev/null
	assert_equal "$(jq -r .status <<<"$output")" deployed
	assert_equal "$(jq -r .started <<<"$output")" 2026-11-25T03:59:00Z
	assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 0
	# 07:30 UTC is 02:30 in New York (EST): inside its window.
	deploy_config '{"components": {"shop": {"window": "02:00-04:00"}}}'
	run -0 sb-rollback "$(jq -r .id <<<"$output")"
	standard_change c2 >ch2.ndjson
	TZ=America/New_York SB_NOW=2026-11-25T07:30:00Z run -0 sb-deploy --yes ch2.ndjson
	assert_equal "$(jq -r .status <<<"$output")" deployed
}

@test "deploy window: across midnight, several windows, a malformed one" {
	deploy_config '{"components": {"shop": {"window": ["22:00-02:00"]}}}'
	standard_change >ch.ndjson
	SB_NOW=2026-11-25T21:59:00Z run -0 sb-deploy --yes --dry-run ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" deferred
	SB_NOW=2026-11-25T23:30:00Z run -0 sb-deploy --yes --dry-run ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" planned
	SB_NOW=2026-11-25T01:30:00Z run -0 sb-deploy --yes --dry-run ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" planned
	deploy_config '{"components": {"shop": {"window": ["01:00-02:00", "12:00-13:00"]}}}'
	SB_NOW=2026-11-25T12:10:00Z run -0 sb-deploy --yes --dry-run ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" planned
	# A dry run queues nothing.
	[ ! -d "$SB_STATE_DIR/queue" ] || assert_equal "$(ls "$SB_STATE_DIR/queue" | wc -l)" 0
	deploy_config '{"components": {"shop": {"window": "2am-4am"}}}'
	run -1 sb-deploy --yes ch.ndjson
	assert_equal "$(jq -r .reason <<<"$output")" "malformed deploy window (want HH:MM-HH:MM)"
	SB_NOW=yesterday run -2 sb-deploy --yes ch.ndjson
	assert_output --partial "SB_NOW"
}

@test "health failure: the previous version is put back byte for byte, reloaded, rolled_back, exit 1" {
	standard_change >ch.ndjson
	tree_sum shop >before
	touch ctl/unhealthy
	run -1 sb-deploy --yes --health-retries 2 ch.ndjson
	assert_equal "$(jq -r .status <<<"$output")" rolled_back
	assert_equal "$(jq -r .reason <<<"$output")" "health check failed; the previous version was put back"
	assert_equal "$(jq -c '[.health.ok, .health.attempts, .health.exit, .health.output]' <<<"$output")" \
		'[false,2,1,"503 from /health\n"]'
	assert_equal "$(jq -c .restored <<<"$output")" '["config.json","lib/extra/helper.py","OVERVIEW.md"]'
	assert_equal "$(tree_sum shop)" "$(cat before)"
	assert_equal "$(wc -l <ctl/reloads)" 2
	assert_equal "$(grep -c '^in' ctl/health)" 2
	assert_equal "$(journal | jq -r 'select(.phase == "done") | .status')" rolled_back
	# A failing reload counts the same way, and health is not even tried.
	rm ctl/unhealthy ctl/health
	touch ctl/reload-fails
	standard_change c2 >ch2.ndjson
	run -1 sb-deploy --yes ch2.ndjson
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" \
		"rolled_back: reload failed; the previous version was put back"
	assert_equal "$(tree_sum shop)" "$(cat before)"
	[ ! -e ctl/health ]
}

@test "owner and mode of a replaced file are kept (as root)" {
	[ "$(id -u)" = 0 ] || skip "needs root to own files as another user"
	chown 65534:65534 shop/config.json
	chmod 0604 shop/config.json
	standard_change >ch.ndjson
	run -0 sb-deploy --yes ch.ndjson
	assert_equal "$(stat -c '%u:%g %a' shop/config.json)" "65534:65534 604"
}

@test "two runs at once never deploy to the same component together" {
	echo 0.3 >ctl/health-sleep
	standard_change >ch.ndjson
	at_once ch.ndjson ch.ndjson
	assert_equal "$(cat out1 out2 | jq -r .status | sort | paste -sd' ')" "deployed skipped"
	assert_equal "$(journal | jq -r 'select(.phase == "begin") | .deployment' | wc -l)" 1
	# Two different changes to one component: one after the other, never overlapping.
	run -0 sb-rollback "$(cat out1 out2 | jq -r 'select(.status == "deployed") | .id')"
	rm -f ctl/health
	standard_change c2 >a.ndjson
	validated c3 "$(modify src/app.py "$(cat shop/src/app.py; echo '# c3')")" >b.ndjson
	at_once a.ndjson b.ndjson
	assert_equal "$(cat out1 out2 | jq -r .status | paste -sd' ')" "deployed deployed"
	# Health runs strictly in, out, in, out.
	assert_equal "$(cut -d' ' -f1 ctl/health | paste -sd' ')" "in out in out"
	# A run that cannot get the lock in time defers its change.
	echo 1 >ctl/health-sleep
	run -0 sb-rollback "$(jq -r .id out2)"
	validated c4 "$(modify src/app.py "$(cat shop/src/app.py; echo '# c4')")" >c.ndjson
	sb-deploy --yes c.ndjson >out3 &
	p3=$!
	sleep 0.3
	validated c5 "$(create docs/x.md 'x')" >d.ndjson
	run -0 sb-deploy --yes --lock-timeout 0 d.ndjson
	wait $p3
	assert_equal "$(jq -r '[.status, .reason] | join(": ")' <<<"$output")" \
		"deferred: component shop is locked by another run"
}

@test "recovery: an interrupted deployment is put back by the next run" {
	standard_change >ch.ndjson
	tree_sum shop >before
	echo 5 >ctl/health-sleep
	sb-deploy --yes ch.ndjson >/dev/null &
	pid=$!
	# Wait until the files are written and health is running, then kill it.
	for _ in $(seq 100); do [ -s ctl/health ] && break; sleep 0.05; done
	kill -9 $pid
	wait $pid || true
	rm ctl/health-sleep
	[ ! -e shop/OVERVIEW.md ]
	assert_equal "$(journal | jq -r .phase | paste -sd' ')" "begin applied"
	run -0 sb-deploy </dev/null
	assert_output --partial "recovered interrupted deployment"
	assert_equal "$(tree_sum shop)" "$(cat before)"
	assert_equal "$(journal | jq -c 'select(.phase == "done") | [.status, .recovered, .restored]')" \
		'["rolled_back",true,["config.json","lib/extra/helper.py","OVERVIEW.md"]]'
	assert_equal "$(jq -r 'select(.action == "deploy.recover") | .component' "$SB_STATE_DIR/audit.ndjson")" shop
	# Recovered means done: the next run has nothing to do.
	run -0 sb-deploy </dev/null
	refute_output --partial recovered
}

@test "notifications: the record is POSTed to notify and dependents; a failure is reported, not fatal" {
	command -v node >/dev/null || skip "node is needed for the webhook receiver"
	port=$(free_port)
	cat >hook.js <<'EOF'
const http = require("http"), fs = require("fs");
http.createServer((req, res) => {
	let body = "";
	req.on("data", (c) => body += c);
	req.on("end", () => {
		fs.appendFileSync(process.argv[3], JSON.stringify({path: req.url, type: req.headers["content-type"], body: JSON.parse(body)}) + "\n");
		res.writeHead(204);
		res.end();
	});
}).listen(+process.argv[2], "127.0.0.1");
EOF
	node hook.js "$port" hooks.ndjson &
	remember_pid $!
	wait_listening "$port"
	dead=$(free_port)
	deploy_config "{\"notify\": [\"http://127.0.0.1:$port/all\"],
		\"components\": {\"shop\": {\"dependents\": [\"http://127.0.0.1:$dead/down\", \"billing\"]},
		\"billing\": {\"path\": \"/nonexistent\", \"notify\": [\"http://127.0.0.1:$port/billing\"]}}}"
	standard_change >ch.ndjson
	run -0 sb-deploy --yes --notify-timeout 5s ch.ndjson
	rec=$(tail -1 <<<"$output")
	assert_equal "$(jq -c '.notified | map([.ok, (.status // .error | tostring)])' <<<"$rec")" \
		'[[true,"204"],[false,"connection refused"],[true,"204"]]'
	assert_output --partial "notification to http://127.0.0.1:$dead/down failed"
	assert_equal "$(jq -c '[.path, .type, .body.type, .body.status, .body.change]' hooks.ndjson | sort)" \
		$'["/all","application/json","deployment","deployed","c1"]\n["/billing","application/json","deployment","deployed","c1"]'
}

@test "usage errors exit 2" {
	run -2 sb-deploy --monitor 0s </dev/null
	run -2 sb-deploy --health-retries 0 </dev/null
	run -2 sb-deploy --nope </dev/null
	run -0 sb-deploy --help
	assert_output --partial "--approve CHANGE_ID"
}
