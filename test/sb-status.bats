#!/usr/bin/env bats
# sb-status on a state directory built by hand (a journal with deployments
# in every state, the queue, breakers, cycles, an audit log): each record
# kind, the table format and its sparkline, --component, --tenant,
# --cycles, --where, corrupt and unreadable files, that it writes nothing;
# and once on a real deployment of sb-deploy.

setup() {
	load test_helper/common
	export SB_NOW=2026-11-25T12:00:00Z TZ=UTC
}

# jsonl FILE LINE...: FILE holds the lines, one each
jsonl() {
	local f=$1
	shift
	mkdir -p "$(dirname "$f")"
	printf '%s\n' "$@" >"$f"
}

# make_state: c.json and state/ with the deployments, queue, breakers, cycles and audit log of these tests
make_state() {
	cat >c.json <<'EOF'
{"components": {"shop": {"path": "/srv/shop", "tenant": "acme"},
                "api": {"path": "/srv/api", "tenant": "beta"},
                "idle": {"path": "/srv/idle"}},
 "features": {"component_generation": true, "improvement_rollback": false}}
EOF
	export SB_CONFIG=$PWD/c.json SB_STATE_DIR=$PWD/state
	jsonl state/deployments.ndjson \
		'{"deployment":"dep-kept","phase":"begin","component":"shop","tenant":"acme","change":"ch-kept","started":"2026-11-23T10:00:00Z","ts":"2026-11-23T10:00:00Z"}' \
		'{"deployment":"dep-kept","phase":"done","status":"deployed","finished":"2026-11-23T10:00:05Z","monitor_until":"2026-11-23T11:00:05Z","ts":"2026-11-23T10:00:05Z"}' \
		'{"deployment":"dep-back","phase":"begin","component":"shop","tenant":"acme","change":"ch-back","started":"2026-11-24T09:00:00Z","ts":"2026-11-24T09:00:00Z"}' \
		'{"deployment":"dep-kept","phase":"verdict","verdict":"keep","reason":"no metric got worse","ts":"2026-11-23T11:05:00Z"}' \
		'{"deployment":"dep-back","phase":"done","status":"deployed","finished":"2026-11-24T09:00:05Z","monitor_until":"2026-11-24T10:00:05Z","ts":"2026-11-24T09:00:05Z"}' \
		'{"deployment":"dep-back","phase":"rollback_begin","reason":"latency","ts":"2026-11-24T09:30:00Z"}' \
		'{"deployment":"dep-back","phase":"rollback_done","status":"rolled_back","ts":"2026-11-24T09:30:02Z"}' \
		'{"deployment":"dep-held","phase":"begin","component":"api","tenant":"beta","change":"ch-held","started":"2026-11-25T08:00:00Z","ts":"2026-11-25T08:00:00Z"}' \
		'{"deployment":"dep-held","phase":"done","status":"deployed","finished":"2026-11-25T08:00:05Z","monitor_until":"2026-11-25T09:00:05Z","ts":"2026-11-25T08:00:05Z"}' \
		'{"deployment":"dep-held","phase":"verdict","verdict":"hold","reason":"latency_ms got 40% worse","ts":"2026-11-25T09:10:00Z"}' \
		'{"deployment":"dep-mon","phase":"begin","component":"shop","tenant":"acme","change":"ch-mon","started":"2026-11-25T11:29:55Z","ts":"2026-11-25T11:29:55Z"}' \
		'{"deployment":"dep-mon","phase":"applied","ts":"2026-11-25T11:29:58Z"}' \
		'{"deployment":"dep-mon","phase":"done","status":"deployed","finished":"2026-11-25T11:30:00Z","monitor_until":"2026-11-25T12:30:00Z","ts":"2026-11-25T11:30:00Z"}' \
		'{"deployment":"dep-open","phase":"begin","component":"api","tenant":"beta","change":"ch-open","started":"2026-11-25T11:50:00Z","ts":"2026-11-25T11:50:00Z"}' \
		'{"deployment":"dep-fail","phase":"begin","component":"legacy","change":"ch-fail","started":"2026-11-20T10:00:00Z","ts":"2026-11-20T10:00:00Z"}' \
		'{"deployment":"dep-fail","phase":"done","status":"failed","finished":"2026-11-20T10:00:01Z","ts":"2026-11-20T10:00:01Z"}'
	jsonl state/queue/0a1b.json \
		'{"change":{"type":"change","id":"ch-q1","component":"api","tenant":"beta"},"status":"awaiting_approval","reason":"requires approval: sb-deploy --approve ch-q1","queued":"2026-11-25T10:00:00Z"}'
	jsonl state/queue/ff00.json \
		'{"change":{"type":"change","id":"ch-q2","component":"shop","tenant":"acme"},"status":"deferred","reason":"outside the deploy window","queued":"2026-11-25T09:00:00Z"}'
	jsonl state/breakers/cloudwatch.json '{"state":"open","failures":3,"open_until":"2026-11-25T12:05:00Z","updated":"2026-11-25T11:55:00Z"}'
	jsonl state/breakers/prometheus.json '{"state":"open","failures":5,"open_until":"2026-11-25T11:00:00Z","updated":"2026-11-25T10:55:00Z"}'
	jsonl state/breakers/webhook.json '{"state":"closed","failures":1,"updated":"2026-11-25T10:00:00Z"}'
	jsonl state/cycles/20261125T100000-aaaa/cycle.json \
		'{"id":"20261125T100000-aaaa","start":"2026-11-25T10:00:00Z","end":"2026-11-25T10:02:30Z","status":"completed","exit":0,"window":1,"max":3,"tenant":null,"stages":[{"name":"stream","records_in":0,"records_out":120,"exit":0},{"name":"analyze","records_in":120,"records_out":3,"exit":0},{"name":"score","records_in":3,"records_out":2,"exit":0}]}'
	jsonl state/cycles/20261125T110000-bbbb/cycle.json \
		'{"id":"20261125T110000-bbbb","start":"2026-11-25T11:00:00Z","end":"2026-11-25T11:01:00Z","status":"failed","exit":3,"tenant":"acme","stages":[{"name":"stream","records_in":0,"records_out":50,"exit":0},{"name":"analyze","records_in":50,"records_out":0,"exit":3}]}'
	jsonl state/cycles/20261124T100000-cccc/cycle.json \
		'{"id":"20261124T100000-cccc","start":"2026-11-24T10:00:00Z","end":"2026-11-24T10:00:30.5Z","status":"interrupted","exit":143,"tenant":null,"stages":[]}'
	jsonl state/cycles/20261125T115900-dddd/cycle.json \
		'{"id":"20261125T115900-dddd","start":"2026-11-25T11:59:00Z","end":null,"status":"running","exit":0,"tenant":null,"stages":[{"name":"stream","records_in":0,"records_out":0,"exit":null}]}'
	jsonl state/audit.ndjson \
		'{"action":"deploy.deployed","component":"shop","tenant":"acme","prev":"0"}' \
		'{"action":"monitor.keep","component":"shop","tenant":"acme","prev":"1"}' \
		'{"action":"monitor.hold","component":"api","tenant":"beta","prev":"2"}' \
		'{"action":"deploy.awaiting_approval","component":"api","tenant":"beta","prev":"3"}' \
		'{"action":"cycle.start","prev":"4"}'
}

# record KIND [NAME]: the status record of that kind (and component, cycle or breaker NAME) in $output, compact
record() {
	jq -c --arg k "$1" --arg n "${2:-}" 'select(.kind == $k and ($n == "" or .component == $n or .cycle == $n or .breaker == $n))' <<<"$output"
}

# listing DIR: every path under DIR with its type, size, mode and modification time
listing() {
	find "$1" -printf '%p %y %s %m %T@\n' | sort
}

@test "sb-status: records in order: components by name, cycles newest first, breakers, totals, features" {
	make_state
	run --separate-stderr sb-status
	assert_success
	run jq -r '[.type, .kind, .component // .cycle // .breaker // "-", .ts] | @tsv' <<<"$output"
	assert_output "$(printf '%s\n' \
		$'status\tcomponent\tapi\t2026-11-25T12:00:00Z' \
		$'status\tcomponent\tidle\t2026-11-25T12:00:00Z' \
		$'status\tcomponent\tlegacy\t2026-11-25T12:00:00Z' \
		$'status\tcomponent\tshop\t2026-11-25T12:00:00Z' \
		$'status\tcycle\t20261125T115900-dddd\t2026-11-25T12:00:00Z' \
		$'status\tcycle\t20261125T110000-bbbb\t2026-11-25T12:00:00Z' \
		$'status\tcycle\t20261125T100000-aaaa\t2026-11-25T12:00:00Z' \
		$'status\tcycle\t20261124T100000-cccc\t2026-11-25T12:00:00Z' \
		$'status\tbreaker\tcloudwatch\t2026-11-25T12:00:00Z' \
		$'status\tbreaker\tprometheus\t2026-11-25T12:00:00Z' \
		$'status\tbreaker\twebhook\t2026-11-25T12:00:00Z' \
		$'status\ttotals\t-\t2026-11-25T12:00:00Z' \
		$'status\tfeatures\t-\t2026-11-25T12:00:00Z')"
}

@test "sb-status: a component in monitoring: last deployment, remaining time, queue, counts" {
	make_state
	run sb-status
	assert_success
	run record component shop
	assert_output '{"type":"status","kind":"component","ts":"2026-11-25T12:00:00Z","component":"shop","tenant":"acme","path":"/srv/shop","configured":true,"last_deployment":{"deployment":"dep-mon","change":"ch-mon","state":"monitoring","status":"deployed","verdict":null,"started":"2026-11-25T11:29:55Z","finished":"2026-11-25T11:30:00Z"},"monitoring":[{"deployment":"dep-mon","change":"ch-mon","since":"2026-11-25T11:30:00Z","until":"2026-11-25T12:30:00Z","remaining_s":1800}],"held":[],"queued":[{"change":"ch-q2","status":"deferred","reason":"outside the deploy window","queued":"2026-11-25T09:00:00Z"}],"deployments":{"total":3,"deployed":2,"monitoring":1,"kept":1,"held":0,"rolled_back":1,"failed":0,"unfinished":0}}'
}

@test "sb-status: held deployments are listed with the verdict's time and reason; unfinished ones counted" {
	make_state
	run sb-status
	assert_success
	run jq -c 'select(.component == "api") | [.held, .monitoring, .last_deployment.state, .queued[0].status, .deployments.unfinished, .deployments.held]' <<<"$output"
	assert_output '[[{"deployment":"dep-held","change":"ch-held","since":"2026-11-25T09:10:00Z","reason":"latency_ms got 40% worse"}],[],"unfinished","awaiting_approval",1,1]'
}

@test "sb-status: a component only the journal knows, and a configured one never deployed" {
	make_state
	run sb-status
	assert_success
	run jq -c 'select(.kind == "component" and (.component == "legacy" or .component == "idle")) | [.component, .configured, .path, .tenant, .last_deployment.state, .deployments.failed, .deployments.total]' <<<"$output"
	assert_output $'["idle",true,"/srv/idle",null,null,0,0]\n["legacy",false,null,null,"failed",1,1]'
}

@test "sb-status: the remaining time counts from SB_NOW and stops at 0 once the period is over" {
	make_state
	SB_NOW=2026-11-25T12:29:30.5Z run sb-status --component shop
	assert_success
	run jq -c 'select(.kind == "component") | .monitoring[0].remaining_s' <<<"$output"
	assert_output 29
	SB_NOW=2026-11-25T13:00:00Z run sb-status --component shop
	run jq -c 'select(.kind == "component") | [.monitoring[0].remaining_s, .last_deployment.state]' <<<"$output"
	assert_output '[0,"monitoring"]'
}

@test "sb-status: cycle records: times, outcome, duration, stage counts" {
	make_state
	run sb-status
	assert_success
	run record cycle 20261125T100000-aaaa
	assert_output '{"type":"status","kind":"cycle","ts":"2026-11-25T12:00:00Z","cycle":"20261125T100000-aaaa","start":"2026-11-25T10:00:00Z","end":"2026-11-25T10:02:30Z","status":"completed","exit":0,"tenant":null,"component":null,"duration_s":150,"stages":[{"name":"stream","records_in":0,"records_out":120,"exit":0},{"name":"analyze","records_in":120,"records_out":3,"exit":0},{"name":"score","records_in":3,"records_out":2,"exit":0}]}'
	run sb-status
	run jq -c 'select(.kind == "cycle") | [.cycle, .status, .exit, .end, .duration_s, .tenant]' <<<"$output"
	assert_output "$(printf '%s\n' \
		'["20261125T115900-dddd","running",0,null,null,null]' \
		'["20261125T110000-bbbb","failed",3,"2026-11-25T11:01:00Z",60,"acme"]' \
		'["20261125T100000-aaaa","completed",0,"2026-11-25T10:02:30Z",150,null]' \
		'["20261124T100000-cccc","interrupted",143,"2026-11-24T10:00:30.5Z",30.5,null]')"
}

@test "sb-status: breakers: open, half_open once the cooldown has passed, closed" {
	make_state
	run sb-status
	assert_success
	run jq -c 'select(.kind == "breaker") | del(.type, .kind, .ts)' <<<"$output"
	assert_output "$(printf '%s\n' \
		'{"breaker":"cloudwatch","state":"open","failures":3,"since":"2026-11-25T11:55:00Z","open_until":"2026-11-25T12:05:00Z","updated":"2026-11-25T11:55:00Z"}' \
		'{"breaker":"prometheus","state":"half_open","failures":5,"since":"2026-11-25T11:00:00Z","open_until":"2026-11-25T11:00:00Z","updated":"2026-11-25T10:55:00Z"}' \
		'{"breaker":"webhook","state":"closed","failures":1,"since":null,"open_until":null,"updated":"2026-11-25T10:00:00Z"}')"
	SB_NOW=2026-11-25T12:05:00Z run sb-status
	run jq -r 'select(.breaker == "cloudwatch") | .state' <<<"$output"
	assert_output half_open
}

@test "sb-status: totals: cycles, deployments, queue, audit entries, daily series" {
	make_state
	run sb-status
	assert_success
	run record totals
	assert_output "{\"type\":\"status\",\"kind\":\"totals\",\"ts\":\"2026-11-25T12:00:00Z\",\"state_dir\":\"$PWD/state\",\"components\":4,\"cycles\":{\"total\":4,\"completed\":1,\"failed\":1,\"running\":1,\"interrupted\":1},\"deployments\":{\"total\":6,\"deployed\":3,\"monitoring\":1,\"kept\":1,\"held\":1,\"rolled_back\":1,\"failed\":1,\"unfinished\":1},\"queued\":{\"total\":2,\"awaiting_approval\":1,\"deferred\":1},\"audit_entries\":5,\"daily\":{\"from\":\"2026-11-12\",\"to\":\"2026-11-25\",\"kept\":[0,0,0,0,0,0,0,0,0,0,0,1,0,0],\"rolled_back\":[0,0,0,0,0,0,0,0,0,0,0,0,1,0]}}"
}

@test "sb-status: features: the configuration's over the two defaults" {
	make_state
	run sb-status
	assert_success
	run record features
	assert_output '{"type":"status","kind":"features","ts":"2026-11-25T12:00:00Z","features":{"autonomous_improvements":false,"improvement_rollback":false,"component_generation":true}}'
	echo '{}' >c.json
	run sb-status
	run jq -c 'select(.kind == "features") | .features' <<<"$output"
	assert_output '{"autonomous_improvements":false,"improvement_rollback":true}'
}

@test "sb-status: --component selects components, their deployments and audit entries; repeatable" {
	make_state
	run sb-status --component shop
	assert_success
	run jq -c '[.kind, .component // .cycle // .breaker // .deployments.total // "f"]' <<<"$output"
	assert_output "$(printf '%s\n' '["component","shop"]' \
		'["cycle","20261125T115900-dddd"]' '["cycle","20261125T110000-bbbb"]' \
		'["cycle","20261125T100000-aaaa"]' '["cycle","20261124T100000-cccc"]' \
		'["breaker","cloudwatch"]' '["breaker","prometheus"]' '["breaker","webhook"]' \
		'["totals",3]' '["features","f"]')"
	run sb-status --component shop --component legacy
	run jq -c 'select(.kind == "totals") | [.components, .deployments.total, .deployments.failed, .queued.total, .audit_entries]' <<<"$output"
	assert_output '[2,4,1,1,2]'
}

@test "sb-status: --component leaves out the cycles of another component" {
	make_state
	jsonl state/cycles/20261125T113000-eeee/cycle.json \
		'{"id":"20261125T113000-eeee","start":"2026-11-25T11:30:00Z","end":"2026-11-25T11:31:00Z","status":"completed","exit":0,"component":"api","stages":[]}'
	run sb-status --component shop
	run jq -r 'select(.kind == "cycle") | .cycle' <<<"$output"
	refute_output --partial eeee
	assert_line 20261125T100000-aaaa
	run sb-status --component api
	run jq -r 'select(.kind == "cycle") | .cycle' <<<"$output"
	assert_line 20261125T113000-eeee
}

@test "sb-status: an unknown --component is reported and gives no record" {
	make_state
	run --separate-stderr sb-status --component nosuch
	assert_success
	assert_equal "$stderr" "sb-status: component 'nosuch' is neither configured nor in the journal or the queue"
	run jq -c 'select(.kind == "component")' <<<"$output"
	assert_output ''
}

@test "sb-status: --tenant: that tenant's components, deployments, queue, cycles and audit entries" {
	make_state
	run sb-status --tenant acme
	assert_success
	run jq -c '[.kind, .component // .cycle // .breaker // "-"]' <<<"$output"
	assert_output "$(printf '%s\n' '["component","shop"]' '["cycle","20261125T110000-bbbb"]' \
		'["breaker","cloudwatch"]' '["breaker","prometheus"]' '["breaker","webhook"]' '["totals","-"]' '["features","-"]')"
	run sb-status -t acme
	run jq -c 'select(.kind == "totals") | [.components, .deployments.total, .queued.total, .cycles.total, .audit_entries]' <<<"$output"
	assert_output '[1,3,1,1,2]'
	SB_TENANT=beta run sb-status
	run jq -c 'select(.kind == "component") | [.component, .deployments.total, (.held | length), (.queued | length)]' <<<"$output"
	assert_output '["api",2,1,1]'
}

@test "sb-status: --cycles N writes the newest N cycles and still counts them all" {
	make_state
	run sb-status --cycles 2
	assert_success
	run jq -r 'select(.kind == "cycle") | .cycle' <<<"$output"
	assert_output $'20261125T115900-dddd\n20261125T110000-bbbb'
	run sb-status --cycles 0
	run jq -c 'select(.kind == "cycle" or .kind == "totals") | .cycles.total // .cycle' <<<"$output"
	assert_output 4
	SB_STATUS_CYCLES=1 run sb-status
	run jq -r 'select(.kind == "cycle") | .cycle' <<<"$output"
	assert_output 20261125T115900-dddd
	run -2 sb-status --cycles -1
	assert_output --partial "--cycles: '-1' is not an integer from 0 to 1000000"
}

@test "sb-status: --where selects among the status records, in either format" {
	make_state
	run sb-status --where '.kind == "breaker" and .state != "closed"'
	assert_success
	run jq -r .breaker <<<"$output"
	assert_output $'cloudwatch\nprometheus'
	run sb-status --format table -w '.kind == "features"'
	assert_success
	assert_line --index 0 COMPONENTS
	assert_line --index 1 '(none)'
	assert_line 'autonomous_improvements  false'
	refute_output --partial shop
}

# The small fixed case of the table tests: one component deployed and in
# monitoring, one held, one queued change, two cycles, two breakers.
make_small_state() {
	echo '{"components": {"shop": {"path": "/srv/shop", "tenant": "acme"}}, "features": {"component_generation": true}}' >c.json
	export SB_CONFIG=$PWD/c.json SB_STATE_DIR=$PWD/state
	jsonl state/deployments.ndjson \
		'{"deployment":"dep-1","phase":"begin","component":"shop","tenant":"acme","change":"c1","started":"2026-11-25T11:00:00Z"}' \
		'{"deployment":"dep-1","phase":"done","status":"deployed","finished":"2026-11-25T11:00:10Z","monitor_until":"2026-11-25T12:00:10Z"}' \
		'{"deployment":"dep-1","phase":"verdict","verdict":"hold","reason":"p95\tlatency got worse","ts":"2026-11-25T11:40:00Z"}' \
		'{"deployment":"dep-2","phase":"begin","component":"shop","tenant":"acme","change":"c2","started":"2026-11-25T11:45:00Z"}' \
		'{"deployment":"dep-2","phase":"done","status":"deployed","finished":"2026-11-25T11:45:00Z","monitor_until":"2026-11-25T12:45:30Z"}'
	jsonl state/queue/q.json '{"change":{"id":"c3","component":"shop","tenant":"acme"},"status":"deferred","reason":"outside the deploy window","queued":"2026-11-25T10:00:00Z"}'
	jsonl state/cycles/c-1/cycle.json '{"id":"c-1","start":"2026-11-25T10:00:00Z","end":"2026-11-25T10:02:30Z","status":"completed","exit":0,"stages":[{"name":"stream","records_out":120},{"name":"analyze","records_out":3}]}'
	jsonl state/cycles/c-2/cycle.json '{"id":"c-2","start":"2026-11-25T11:59:00Z","end":null,"status":"running","exit":0,"stages":[]}'
	jsonl state/breakers/cloudwatch.json '{"failures":3,"open_until":"2026-11-25T12:05:00Z","updated":"2026-11-25T11:55:00Z"}'
	jsonl state/breakers/webhook.json '{"failures":0,"updated":"2026-11-25T10:00:00Z"}'
}

@test "sb-status: --format table: every section, aligned columns, local times, the sparkline" {
	make_small_state
	run --separate-stderr sb-status --format table
	assert_success
	cat >expect <<EOF
COMPONENTS
COMPONENT  TENANT  LAST DEPLOYMENT  STATE       STARTED              DEPLOYMENTS  KEPT  ROLLED BACK  FAILED  QUEUED
shop       acme    dep-2            monitoring  2026-11-25 11:45:00  2            0     0            0       1

MONITORING/HELD
COMPONENT  DEPLOYMENT  CHANGE  STATE       SINCE                UNTIL                REMAINING  REASON
shop       dep-2       c2      monitoring  2026-11-25 11:45:00  2026-11-25 12:45:30  45m30s     -
shop       dep-1       c1      held        2026-11-25 11:40:00  -                    -          p95?latency got worse

QUEUE
COMPONENT  CHANGE  STATUS    QUEUED               REASON
shop       c3      deferred  2026-11-25 10:00:00  outside the deploy window

CYCLES
CYCLE  START                DURATION  STATUS     EXIT  STAGES
c-2    2026-11-25 11:59:00  -         running    0     -
c-1    2026-11-25 10:00:00  2m30s     completed  0     stream 120 | analyze 3

BREAKERS
BREAKER     STATE   FAILURES  SINCE                OPEN UNTIL
cloudwatch  open    3         2026-11-25 11:55:00  2026-11-25 12:05:00
webhook     closed  0         -                    -

TOTALS
components       1
cycles           2 (1 completed, 0 failed, 1 running, 0 interrupted)
deployments      2 (1 monitoring, 0 kept, 1 held, 0 rolled back, 0 failed, 0 unfinished)
queued           1 (0 awaiting approval, 1 deferred)
audit entries    0
state directory  $PWD/state
kept/rolled back, last 14 days: [              ] [              ] (0 kept, 0 rolled back, 2026-11-12 to 2026-11-25)

FEATURES
autonomous_improvements  false
component_generation     true
improvement_rollback     true
EOF
	printf '%s\n' "$output" >actual
	diff -u expect actual
	assert_equal "$stderr" ""
	# No line ends in a space: the last column is not padded.
	run grep -c ' $' actual
	assert_output 0
}

@test "sb-status: the table's times are local: TZ is honoured" {
	make_small_state
	TZ=Asia/Tokyo run sb-status --format table
	assert_success
	assert_line 'shop       acme    dep-2            monitoring  2026-11-25 20:45:00  2            0     0            0       1'
	assert_line --partial 'c-1    2026-11-25 19:00:00  2m30s'
}

@test "sb-status: an empty state directory: every section says (none)" {
	echo '{}' >c.json
	mkdir state
	run --separate-stderr sb-status -c c.json -S state --format table
	assert_success
	run grep -c '^(none)$' <<<"$output"
	assert_output 5
}

# journal_on DAYS-AGO... KIND: a deployment for each, started that many days before SB_NOW (noon), kept or rolled back
journal_on() {
	local kind=${!#} n=0 d
	for d in "${@:1:$#-1}"; do
		n=$((n + 1))
		local id="dep-$kind-$d-$n" t
		t=$(date -u -d "@$((1795608000 - d * 86400))" +%Y-%m-%dT%H:%M:%SZ)
		printf '{"deployment":"%s","phase":"begin","component":"shop","change":"c","started":"%s"}\n' "$id" "$t"
		if [ "$kind" = kept ]; then
			printf '{"deployment":"%s","phase":"done","status":"deployed","finished":"%s","monitor_until":"%s"}\n' "$id" "$t" "$t"
			printf '{"deployment":"%s","phase":"verdict","verdict":"keep"}\n' "$id"
		else
			printf '{"deployment":"%s","phase":"done","status":"rolled_back","finished":"%s"}\n' "$id" "$t"
		fi
	done >>state/deployments.ndjson
}

@test "sb-status: the sparkline: one character a day, one scale for both series, UTF-8 blocks" {
	echo '{}' >c.json
	mkdir state
	journal_on 2 2 2 0 kept
	journal_on 1 0 rolled_back
	# Outside the 14 days: not shown.
	journal_on 14 20 kept
	LC_ALL=C.UTF-8 run sb-status -c c.json -S state --format table
	assert_success
	assert_line 'kept/rolled back, last 14 days: [           █ ▃] [            ▃▃] (4 kept, 2 rolled back, 2026-11-12 to 2026-11-25)'
	run sb-status -c c.json -S state
	run jq -c 'select(.kind == "totals") | .daily | [.kept, .rolled_back]' <<<"$output"
	assert_output '[[0,0,0,0,0,0,0,0,0,0,0,3,0,1],[0,0,0,0,0,0,0,0,0,0,0,0,1,1]]'
}

@test "sb-status: the sparkline falls back to ASCII levels outside a UTF-8 locale" {
	echo '{}' >c.json
	mkdir state
	journal_on 13 9 9 9 9 9 9 9 9 0 0 kept
	journal_on 5 rolled_back
	LC_ALL=C run sb-status -c c.json -S state --format table
	assert_line 'kept/rolled back, last 14 days: [:   @        -] [        :     ] (11 kept, 1 rolled back, 2026-11-12 to 2026-11-25)'
	LC_ALL='' LC_CTYPE='' LANG=en_US.utf8 run sb-status -c c.json -S state --format table
	assert_line 'kept/rolled back, last 14 days: [▁   █        ▂] [        ▁     ] (11 kept, 1 rolled back, 2026-11-12 to 2026-11-25)'
}

@test "sb-status: the days of the sparkline are local days" {
	echo '{}' >c.json
	mkdir state
	jsonl state/deployments.ndjson \
		'{"deployment":"d1","phase":"begin","component":"shop","started":"2026-11-24T23:30:00Z"}' \
		'{"deployment":"d1","phase":"done","status":"rolled_back"}'
	run sb-status -c c.json -S state
	run jq -c 'select(.kind == "totals") | .daily | [.from, .to, .rolled_back[12], .rolled_back[13]]' <<<"$output"
	assert_output '["2026-11-12","2026-11-25",1,0]'
	TZ=Europe/Berlin run sb-status -c c.json -S state
	run jq -c 'select(.kind == "totals") | .daily | [.from, .to, .rolled_back[12], .rolled_back[13]]' <<<"$output"
	assert_output '["2026-11-12","2026-11-25",0,1]'
	TZ=America/New_York SB_NOW=2026-11-25T03:00:00Z run sb-status -c c.json -S state
	run jq -c 'select(.kind == "totals") | .daily | [.from, .to, .rolled_back[13]]' <<<"$output"
	assert_output '["2026-11-11","2026-11-24",1]'
}

@test "sb-status: format defaults to json into a pipe and to table on a terminal" {
	make_state
	run bash -c 'sb-status | head -c 1'
	assert_output '{'
	run script -qec 'sb-status --cycles 1' /dev/null
	assert_success
	assert_line --index 0 --regexp '^COMPONENTS'
	SB_STATUS_FORMAT=table run sb-status
	assert_line --index 0 COMPONENTS
	run sb-status -c <(echo '{"status": {"format": "table"}}')
	assert_line --index 0 COMPONENTS
	run sb-status --format json
	assert_line --index 0 --partial '"type":"status"'
}

@test "sb-status: corrupt state files are reported and skipped; the rest is shown, status 0" {
	make_state
	printf 'not json\n' >>state/deployments.ndjson
	echo '{"id":' >state/cycles/20261125T100000-aaaa/cycle.json
	echo '[1]' >state/breakers/webhook.json
	echo '{"status":"deferred"}' >state/queue/0a1b.json
	echo 'garbage' >state/queue/zz.json
	run --separate-stderr sb-status
	assert_success
	assert_equal "$stderr" "$(printf '%s\n' \
		"sb-status: $PWD/state/deployments.ndjson:17: not a journal entry; ignored" \
		"sb-status: $PWD/state/queue/zz.json: not a queue entry; skipped" \
		"sb-status: $PWD/state/queue/0a1b.json: not a queue entry (a change with an id and a component); skipped" \
		"sb-status: $PWD/state/cycles/20261125T100000-aaaa/cycle.json: not a cycle record; skipped" \
		"sb-status: $PWD/state/breakers/webhook.json: not a breaker state; skipped")"
	run jq -c 'select(.kind == "totals") | [.deployments.total, .cycles.total, .queued.total]' <<<"$output"
	assert_output '[6,3,1]'
	run --separate-stderr sb-status
	run jq -r 'select(.kind == "breaker") | .breaker' <<<"$output"
	assert_output $'cloudwatch\nprometheus'
}

@test "sb-status: a state file that cannot be read is reported; the rest is shown, status 5" {
	make_state
	rm state/cycles/20261125T110000-bbbb/cycle.json
	mkdir state/cycles/20261125T110000-bbbb/cycle.json
	run -5 --separate-stderr sb-status
	assert_equal "$stderr" "sb-status: cannot read cycle record '$PWD/state/cycles/20261125T110000-bbbb/cycle.json': not a regular file"
	run jq -c 'select(.kind == "totals") | [.cycles.total, .deployments.total]' <<<"$output"
	assert_output '[3,6]'
	mv state/deployments.ndjson j
	mkdir state/deployments.ndjson
	run -5 --separate-stderr sb-status --cycles 0
	assert_line --partial '"kind":"features"'
	assert_equal "$(grep -c 'cannot read deployment journal' <<<"$stderr")" 1
}

@test "sb-status: a cycle folder without cycle.json yet is left out without a word" {
	make_state
	mkdir state/cycles/20261125T120000-new
	run --separate-stderr sb-status
	assert_success
	assert_equal "$stderr" ""
	run jq -c 'select(.kind == "totals") | .cycles.total' <<<"$output"
	assert_output 4
}

@test "sb-status: a missing state directory is not created: configured components, nothing deployed" {
	make_state
	run --separate-stderr sb-status -S "$PWD/none"
	assert_success
	assert_equal "$stderr" "sb-status: state directory '$PWD/none' does not exist: nothing has run yet"
	[ ! -e none ]
	run jq -r 'select(.kind == "component") | .component' <<<"$output"
	assert_output $'api\nidle\nshop'
	run --separate-stderr sb-status -q -S "$PWD/none"
	assert_equal "$stderr" ""
	# Nor the default one under HOME.
	unset SB_STATE_DIR
	run sb-status
	assert_success
	[ ! -e "$HOME/.local" ]
	run -5 --separate-stderr sb-status -S c.json
	assert_equal "$stderr" "sb-status: cannot read state directory 'c.json': not a directory"
}

@test "sb-status: reads only: the state directory is the same before and after, byte for byte" {
	make_state
	mkdir -p state/locks state/snapshots/shop state/approvals
	listing state >before
	sha256sum state/deployments.ndjson state/audit.ndjson state/breakers/* state/queue/* >sums
	run sb-status -v --format table
	assert_success
	run sb-status --tenant acme --component shop --where '.kind != "x"'
	assert_success
	run sb-status -S "$PWD/state/nested/none"
	listing state >after
	diff -u before after
	sha256sum -c --quiet sums
}

@test "sb-status: reads the journal while a deployment holds its component's lock" {
	make_state
	mkdir -p state/locks
	: >state/locks/shop.lock
	flock state/locks/shop.lock sleep 5 &
	local holder=$!
	sleep 0.2
	run timeout 3 sb-status --component shop
	kill "$holder" 2>/dev/null || true
	wait "$holder" 2>/dev/null || true
	assert_success
	run jq -r 'select(.kind == "component") | .last_deployment.deployment' <<<"$output"
	assert_output dep-mon
}

@test "sb-status: usage errors: an operand, a bad --format, a malformed SB_NOW" {
	make_state
	run -2 --separate-stderr sb-status state
	assert_equal "$stderr" "$(printf '%s\n' "sb-status: unexpected operand 'state': sb-status reads the state directory, not files" \
		"Try 'sb-status --help' for more information.")"
	run -2 --separate-stderr sb-status --format yaml
	assert_output ''
	assert_equal "${stderr%%$'\n'*}" "sb-status: --format: 'yaml' is not one of json, table"
	SB_NOW=yesterday run -2 sb-status
	assert_output --partial SB_NOW
	run -2 sb-status --where '.kind =='
}

@test "sb-status: a closed pipe ends it quietly with status 0; a full disk is status 5" {
	make_state
	run bash -c 'sb-status --format table 2>err | (exec <&-; sleep 0.3); echo "${PIPESTATUS[0]}"; cat err'
	assert_output 0
	run -5 bash -c 'sb-status >/dev/full'
	assert_output "sb-status: write error on standard output: No space left on device"
}

@test "sb-status: --help shows the options; -v counts on stderr" {
	run sb-status --help
	assert_success
	assert_line --index 0 'Usage: sb-status [OPTION]...'
	assert_output --partial '--format FORMAT'
	assert_output --partial '--component NAME'
	assert_output --partial '--cycles N'
	make_state
	run --separate-stderr sb-status -v
	assert_equal "$stderr" "sb-status: 4 components, 6 deployments, 5 audit entries in '$PWD/state'"
}

@test "sb-status: a real deployment of sb-deploy is in monitoring for the --monitor period" {
	load helpers/deploy
	deploy_setup
	standard_change >ch.ndjson
	run sb-deploy --yes --monitor 2h ch.ndjson
	assert_success
	dep=$(jq -r .id <<<"$output")
	SB_NOW=2026-11-25T12:30:00Z run --separate-stderr sb-status
	assert_success
	run jq -c --arg d "$dep" 'select(.kind == "component") | [.component, .configured, .last_deployment.deployment == $d, .last_deployment.state, .monitoring[0].deployment == $d, .monitoring[0].until, .monitoring[0].remaining_s, .deployments.monitoring]' <<<"$output"
	assert_output '["shop",true,true,"monitoring",true,"2026-11-25T14:00:00Z",5400,1]'
	SB_NOW=2026-11-25T12:30:00Z run sb-status
	run jq -c 'select(.kind == "totals") | [.deployments.total, .deployments.monitoring, .audit_entries > 0]' <<<"$output"
	assert_output '[1,1,true]'
	SB_NOW=2026-11-25T12:30:00Z run sb-status --format table
	assert_line --regexp "^shop +- +$dep +monitoring +2026-11-25 12:00:00 +1 +0 +0 +0 +0\$"
	assert_line --regexp "^shop +$dep +c1 +monitoring +2026-11-25 12:00:00 +2026-11-25 14:00:00 +1h30m +-\$"
}
