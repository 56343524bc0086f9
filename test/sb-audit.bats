#!/usr/bin/env bats
# sb-audit: verify walks the hash chain and names the first line that breaks
# it; list writes the entries the options select. Logs are written by the
# real writer, sb_audit_append, through the driver test/audit-append.c.

setup_file() {
	load helpers/driver
	build_driver APPEND test/audit-append.c
}

setup() {
	load test_helper/common
}

# The entries of most tests, in log order. The approval's time is earlier
# than the entries before it, as an approval's is in real logs.
entries() {
	cat <<'EOF'
{"action":"validate.waiver","ts":"2026-11-24T01:00:00Z","change":"c1","rule":"shell","finding":"runs a shell"}
{"action":"deploy.deployed","ts":"2026-11-24T02:00:00.123456Z","tenant":"acme","component":"checkout","deployment":"d1","change":"c1"}
{"action":"monitor.keep","ts":"2026-11-24T03:00:00Z","tenant":"acme","component":"checkout","deployment":"d1","reason":"no metric degraded"}
{"action":"rollback","ts":"2026-11-24T04:00:00Z","tenant":"beta","component":"cart","deployment":"d2","reason":"requested by bob"}
{"action":"rollback.refused","ts":"2026-11-24T05:00:00Z","tenant":"acme","component":"checkout","deployment":"d3","reason":"no snapshot"}
{"action":"deploy.approve","actor":"carol","ts":"2026-11-23T23:00:00Z","change":"c3"}
EOF
}

# make_log [FILE]: the six entries above, appended by alice (default audit.ndjson).
make_log() {
	entries | SB_ACTOR=alice "$APPEND" "${1:-audit.ndjson}"
}

# hash_of_line N FILE: the hex SHA-256 of line N without its newline.
hash_of_line() {
	sed -n "$1p" "$2" | tr -d '\n' | sha256sum | cut -d' ' -f1
}

# The actions of list's output, one a line.
actions() {
	jq -r .action
}

GENESIS=0000000000000000000000000000000000000000000000000000000000000000

# ---- the writer's chain, as verify expects it ----

@test "the writer: actor from SB_ACTOR unless the entry names one, genesis then the hash of each line" {
	make_log
	run -0 jq -r '.actor' audit.ndjson
	assert_output - <<'EOF'
alice
alice
alice
alice
alice
carol
EOF
	assert_equal "$(sed -n 1p audit.ndjson | jq -r .prev)" "$GENESIS"
	assert_equal "$(sed -n 4p audit.ndjson | jq -r .prev)" "$(hash_of_line 3 audit.ndjson)"
}

# ---- verify ----

@test "verify: an intact chain is one audit_verify record with the count and the head, status 0" {
	make_log
	run -0 --separate-stderr sb-audit verify audit.ndjson
	assert_output "{\"type\":\"audit_verify\",\"file\":\"audit.ndjson\",\"ok\":true,\"entries\":6,\"head\":\"$(hash_of_line 6 audit.ndjson)\"}"
	assert_equal "$stderr" ""
}

@test "verify: the head is the prev of the next entry appended" {
	make_log
	head=$(sb-audit verify audit.ndjson | jq -r .head)
	echo '{"action":"monitor.keep","ts":"2026-11-24T07:00:00Z"}' | "$APPEND" audit.ndjson
	assert_equal "$(tail -n 1 audit.ndjson | jq -r .prev)" "$head"
	run -0 sb-audit verify audit.ndjson
	assert_output --partial '"ok":true,"entries":7,'
}

@test "verify --format table: one sentence for people" {
	make_log
	run -0 sb-audit --format table verify audit.ndjson
	assert_output "ok: 6 entries, chain intact, head $(hash_of_line 6 audit.ndjson)"
	head -n 1 audit.ndjson >one.ndjson
	run -0 sb-audit verify --format table one.ndjson
	assert_output "ok: 1 entry, chain intact, head $(hash_of_line 1 one.ndjson)"
}

@test "verify: without FILE, audit.ndjson of the state directory from -S or SB_STATE_DIR" {
	mkdir state
	make_log state/audit.ndjson
	run -0 sb-audit -S state verify
	assert_output --partial '"file":"state/audit.ndjson","ok":true,"entries":6,'
	run -0 env SB_STATE_DIR="$PWD/state" sb-audit verify
	assert_output --partial "\"file\":\"$PWD/state/audit.ndjson\",\"ok\":true,\"entries\":6,"
}

@test "verify: no log yet in the state directory is an intact chain of 0 entries" {
	run -0 --separate-stderr sb-audit -S fresh verify
	assert_output "{\"type\":\"audit_verify\",\"file\":\"fresh/audit.ndjson\",\"ok\":true,\"entries\":0,\"head\":\"$GENESIS\"}"
	assert_equal "$stderr" ""
	assert [ ! -e fresh/audit.ndjson ]
}

@test "verify: an empty file is an intact chain of 0 entries" {
	: >empty.ndjson
	run -0 sb-audit verify --format table empty.ndjson
	assert_output "ok: 0 entries, chain intact, head $GENESIS"
}

@test "verify: a FILE named that does not exist is an I/O error, status 5" {
	run -5 --separate-stderr sb-audit verify nope.ndjson
	assert_output ""
	assert_equal "$stderr" "sb-audit: cannot open 'nope.ndjson': No such file or directory"
}

@test "verify: - reads standard input" {
	make_log
	run -0 bash -c 'sb-audit verify - <audit.ndjson'
	assert_output --partial '"file":"<stdin>","ok":true,"entries":6,'
}

@test "verify: a byte edited in line 3 is named at line 4, whose prev no longer matches, status 1" {
	make_log
	sed -i '3s/no metric degraded/no metric degradeD/' audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:4: chain broken: "prev" is not the SHA-256 of line 3: line 3 was edited, or line 4 is not the entry that followed it (entries inserted, deleted or reordered)'
	assert_equal "$(jq -c '[.ok, .entries, .line, .head]' <<<"$output")" "[false,3,4,\"$(hash_of_line 3 audit.ndjson)\"]"
	assert_equal "$(jq -r .error <<<"$output")" "${stderr#*chain broken: }"
}

@test "verify: an edited prev is named at its own line" {
	make_log
	sed -i '3s/"prev":"[0-9a-f]/"prev":"x/' audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:3: chain broken: "prev" is not the SHA-256 of line 2: line 2 was edited, or line 3 is not the entry that followed it (entries inserted, deleted or reordered)'
}

@test "verify: a deleted line is named at the line that took its place" {
	make_log
	sed -i 3d audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:3: chain broken: "prev" is not the SHA-256 of line 2: line 2 was edited, or line 3 is not the entry that followed it (entries inserted, deleted or reordered)'
	assert_output --partial '"ok":false,"entries":2,'
}

@test "verify: the first line deleted leaves a first line whose prev is not the genesis" {
	make_log
	sed -i 1d audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:1: chain broken: "prev" is not the genesis (64 zeros): line 1 is not the first entry (entries deleted or reordered)'
	assert_output --partial "\"ok\":false,\"entries\":0,\"head\":\"$GENESIS\",\"line\":1,"
}

@test "verify: two lines swapped are named at the first of them" {
	make_log
	awk 'NR == 2 { held = $0; next } { print } NR == 3 { print held }' audit.ndjson >swapped.ndjson
	assert_equal "$(sed -n 2p swapped.ndjson)" "$(sed -n 3p audit.ndjson)"
	run -1 --separate-stderr sb-audit verify swapped.ndjson
	assert_equal "$stderr" 'sb-audit: swapped.ndjson:2: chain broken: "prev" is not the SHA-256 of line 1: line 1 was edited, or line 2 is not the entry that followed it (entries inserted, deleted or reordered)'
}

@test "verify: a line inserted is named at the line after it" {
	make_log
	line=$(jq -c --arg p "$(hash_of_line 2 audit.ndjson)" '{action: "forged", prev: $p}' <<<'{}')
	sed -i "2a\\$line" audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:4: chain broken: "prev" is not the SHA-256 of line 3: line 3 was edited, or line 4 is not the entry that followed it (entries inserted, deleted or reordered)'
}

@test "verify: an edit of the last entry or its loss leaves an intact, shorter chain with another head" {
	make_log
	before=$(sb-audit verify audit.ndjson | jq -r .head)
	sed -i '6s/carol/mallory/' audit.ndjson
	run -0 sb-audit verify audit.ndjson
	assert_output --partial '"ok":true,"entries":6,'
	refute_output --partial "$before"
	sed -i 6d audit.ndjson
	run -0 sb-audit verify audit.ndjson
	assert_output --partial "\"ok\":true,\"entries\":5,\"head\":\"$(hash_of_line 5 audit.ndjson)\""
}

@test "verify: a last line without its newline breaks the chain there" {
	make_log
	truncate -s -1 audit.ndjson
	run -1 --separate-stderr sb-audit --format table verify audit.ndjson
	assert_equal "$stderr" 'sb-audit: audit.ndjson:6: chain broken: the last line has no newline: a write was cut short'
	assert_output "broken: line 6 breaks the chain; 5 entries intact before it"
}

@test "verify: a line that is not JSON, not an object, empty or without prev is named" {
	make_log
	head -n 2 audit.ndjson >base.ndjson
	{ cat base.ndjson; echo 'not json'; } >a.ndjson
	{ cat base.ndjson; echo '[1,2]'; } >b.ndjson
	{ cat base.ndjson; echo; } >c.ndjson
	{ cat base.ndjson; echo '{"action":"x","prev":null}'; } >d.ndjson
	run -1 --separate-stderr sb-audit verify a.ndjson
	assert_equal "$stderr" "sb-audit: a.ndjson:3: chain broken: not JSON: Invalid numeric literal at column 4"
	run -1 --separate-stderr sb-audit verify b.ndjson
	assert_equal "$stderr" "sb-audit: b.ndjson:3: chain broken: not a JSON object"
	run -1 --separate-stderr sb-audit verify c.ndjson
	assert_equal "$stderr" "sb-audit: c.ndjson:3: chain broken: empty line"
	run -1 --separate-stderr sb-audit verify d.ndjson
	assert_equal "$stderr" 'sb-audit: d.ndjson:3: chain broken: entry has no "prev" string'
}

@test "verify: entries that are not flat (nested, escaped, beyond 32 fields) are checked by libjq alike" {
	{
		echo '{"action":"a","detail":{"files":["x","y"]},"reason":"tab\there, caf\u00e9 é"}'
		jq -nc '[range(40) | {key: "k\(.)", value: .}] | from_entries | .action = "wide"'
	} | SB_ACTOR=alice "$APPEND" audit.ndjson
	run -0 sb-audit verify audit.ndjson
	assert_output --partial '"ok":true,"entries":2,'
	sed -i '1s/caf/CAF/' audit.ndjson
	run -1 --separate-stderr sb-audit verify audit.ndjson
	assert_equal "${stderr%%:*}" "sb-audit"
	assert_output --partial '"ok":false,"entries":1,"head"'
}

@test "verify: a line of a megabyte" {
	jq -nc '{action: "big", reason: ("x" * 1048576)}' | "$APPEND" audit.ndjson
	make_log
	run -0 sb-audit verify audit.ndjson
	assert_output --partial '"ok":true,"entries":7,'
}

@test "verify: waits for an append in progress (it reads under a shared lock)" {
	make_log
	# One process holds the lock: killing it releases the lock at once.
	(exec 9<audit.ndjson && flock -x 9 && touch locked && exec sleep 30) >/dev/null 2>&1 3>&- &
	holder=$!
	for _ in $(seq 50); do [ -e locked ] && break; sleep 0.1; done
	run timeout 1 sb-audit verify audit.ndjson
	kill "$holder"
	wait "$holder" || true
	assert_equal "$status" 124
	run -0 sb-audit verify audit.ndjson
}

@test "verify: takes no list option, no --where, and verifies the whole log whatever the tenant" {
	make_log
	for opt in "--since 1h" "--until 1h" "--action rollback" "--where true"; do
		run -2 --separate-stderr sb-audit $opt verify audit.ndjson
		assert_equal "$stderr" "sb-audit: ${opt%% *} applies to list, not verify
Try 'sb-audit --help' for more information."
	done
	run -0 sb-audit --tenant beta verify audit.ndjson
	assert_output --partial '"ok":true,"entries":6,'
	run -0 env SB_TENANT=beta sb-audit verify audit.ndjson
	assert_output --partial '"ok":true,"entries":6,'
}

# ---- list ----

@test "list: every entry, byte for byte, in log order; the output verifies like the log" {
	make_log
	run -0 --separate-stderr sb-audit list audit.ndjson
	assert_equal "$output" "$(cat audit.ndjson)"
	sb-audit list audit.ndjson >copy.ndjson
	cmp copy.ndjson audit.ndjson
	run -0 bash -c 'sb-audit list audit.ndjson | sb-audit verify -'
	assert_output --partial '"ok":true,"entries":6,'
}

@test "list: without FILE, the state directory's log; none yet lists nothing" {
	mkdir state
	make_log state/audit.ndjson
	run -0 sb-audit -S state list
	assert_equal "$output" "$(cat state/audit.ndjson)"
	run -0 --separate-stderr sb-audit -S fresh list
	assert_output ""
	assert_equal "$stderr" ""
	run -5 --separate-stderr sb-audit list nope.ndjson
	assert_equal "$stderr" "sb-audit: cannot open 'nope.ndjson': No such file or directory"
}

@test "list --since/--until: by each entry's own ts, not assuming time order" {
	make_log
	run -0 bash -c 'sb-audit list --since 2026-11-24T03:00:00Z audit.ndjson | jq -r .action'
	assert_output - <<'EOF'
monitor.keep
rollback
rollback.refused
EOF
	run -0 bash -c 'sb-audit list --until 2026-11-24T03:00:00Z audit.ndjson | jq -r .action'
	assert_output - <<'EOF'
validate.waiver
deploy.deployed
deploy.approve
EOF
	run -0 bash -c 'sb-audit list --since 2026-11-24T02:00:00.123456Z --until 1795491000 audit.ndjson | jq -r .action'
	assert_output - <<'EOF'
deploy.deployed
monitor.keep
EOF
}

@test "list --since with a duration counts back from now (SB_NOW), and entries without a time are left out" {
	make_log
	echo '{"action":"note","ts":null}' | "$APPEND" audit.ndjson
	run -0 bash -c 'SB_NOW=2026-11-24T05:30:00Z sb-audit list --since 2h audit.ndjson | jq -r .action'
	assert_output - <<'EOF'
rollback
rollback.refused
EOF
	run -0 bash -c 'sb-audit list audit.ndjson | jq -r .action | tail -n 1'
	assert_output note
	run -2 --separate-stderr sb-audit list --since yesterday audit.ndjson
	assert_equal "$stderr" "sb-audit: --since: 'yesterday' is not a time (RFC 3339, epoch seconds) or a duration like 1h
Try 'sb-audit --help' for more information."
}

@test "list --action: exact, glob, prefix ending in a dot, repeatable" {
	make_log
	run -0 bash -c 'sb-audit list --action rollback audit.ndjson | jq -r .action'
	assert_output rollback
	run -0 bash -c "sb-audit list --action 'deploy.*' audit.ndjson | jq -r .action"
	assert_output - <<'EOF'
deploy.deployed
deploy.approve
EOF
	run -0 bash -c 'sb-audit list --action rollback. audit.ndjson | jq -r .action'
	assert_output rollback.refused
	run -0 bash -c "sb-audit list --action '*.refused' --action validate.waiver audit.ndjson | jq -r .action"
	assert_output - <<'EOF'
validate.waiver
rollback.refused
EOF
	run -0 sb-audit list --action deploy audit.ndjson
	assert_output ""
	run -2 sb-audit list --action '' audit.ndjson
}

@test "list --tenant and SB_TENANT: only that tenant's entries, none of the system's" {
	make_log
	run -0 bash -c 'sb-audit list -t acme audit.ndjson | jq -r .action'
	assert_output - <<'EOF'
deploy.deployed
monitor.keep
rollback.refused
EOF
	run -0 bash -c 'SB_TENANT=beta sb-audit list audit.ndjson | jq -r .action'
	assert_output rollback
}

@test "list --where: a jq expression on each entry, which it sees with type audit" {
	make_log
	run -0 bash -c "sb-audit list --where '.actor == \"carol\"' audit.ndjson | jq -r .action"
	assert_output deploy.approve
	run -0 bash -c "sb-audit list -w '.type == \"audit\" and .tenant == \"beta\"' audit.ndjson"
	assert_output "$(sed -n 4p audit.ndjson)"
	run -0 bash -c "sb-audit list -t acme --action 'rollback*' -w '.reason | test(\"snap\")' audit.ndjson | jq -r .deployment"
	assert_output d3
	run -2 sb-audit list -w '.[' audit.ndjson
}

@test "list --format table: aligned columns of time, actor, action, ids and reason" {
	make_log
	run -0 sb-audit list --format table audit.ndjson
	assert_output - <<'EOF'
TS                    ACTOR         ACTION              IDS  REASON
2026-11-24T01:00:00Z  alice         validate.waiver     change=c1 rule=shell  runs a shell
2026-11-24T02:00:00Z  alice         deploy.deployed     tenant=acme component=checkout deployment=d1 change=c1  -
2026-11-24T03:00:00Z  alice         monitor.keep        tenant=acme component=checkout deployment=d1  no metric degraded
2026-11-24T04:00:00Z  alice         rollback            tenant=beta component=cart deployment=d2  requested by bob
2026-11-24T05:00:00Z  alice         rollback.refused    tenant=acme component=checkout deployment=d3  no snapshot
2026-11-23T23:00:00Z  carol         deploy.approve      change=c3  -
EOF
}

@test "list --format table: control characters escaped, absent fields as -, others as JSON, UTF-8 aligned" {
	printf '%s\n' '{"action":"rollback","ts":"bad","actor":"\u001b]0;x\u0007","deployment":7,"reason":"a\nb\u001b[31m"}' \
		'{"ts":"2026-11-24T01:00:00Z","actor":null}' '{"ts":1795482000,"actor":"zoë","action":"monitor.keep"}' |
		"$APPEND" audit.ndjson
	run -0 sb-audit list --format table -t nobody audit.ndjson
	assert_output "TS                    ACTOR         ACTION              IDS  REASON"
	run -0 sb-audit list --format table audit.ndjson
	assert_line -n 1 'bad                   \x1b]0;x\x07  rollback            deployment=7  a\x0ab\x1b[31m'
	assert_line -n 2 '2026-11-24T01:00:00Z  -             -                   -  -'
	assert_line -n 3 '2026-11-24T01:00:00Z  zoë           monitor.keep        -  -'
}

@test "list: a malformed line is reported and skipped, or ends the run under --on-error fail" {
	make_log
	sed -i '3s/.*/not json/' audit.ndjson
	run -0 --separate-stderr sb-audit list audit.ndjson
	assert_equal "$(wc -l <<<"$output")" 5
	assert_equal "$stderr" "sb-audit: audit.ndjson:3: invalid JSON: Invalid numeric literal at column 4
sb-audit: 1 malformed line skipped"
	run -3 --separate-stderr sb-audit list --on-error fail audit.ndjson
	assert_equal "$(wc -l <<<"$output")" 2
	assert_equal "$stderr" "sb-audit: audit.ndjson:3: invalid JSON: Invalid numeric literal at column 4"
	run -0 --separate-stderr sb-audit -v -q list --action 'deploy.*' audit.ndjson
	assert_equal "$stderr" "sb-audit: 5 entries read, 2 listed
sb-audit: 1 malformed line skipped"
}

@test "list: a reader that goes away ends it quietly" {
	jq -nc 'range(1; 1001) | {action: "a\(.)", reason: ("x" * 200)}' >entries.ndjson
	"$APPEND" audit.ndjson <entries.ndjson
	run -0 --separate-stderr bash -c 'set -o pipefail; sb-audit list audit.ndjson | head -n 1 | jq -r .action'
	assert_output a1
	assert_equal "$stderr" ""
}

@test "sb-audit adds nothing: no field, no environment, no secret in what it writes" {
	make_log
	export OPENAI_API_KEY=sk-test-very-secret AWS_SECRET_ACCESS_KEY=aws-very-secret SB_ACTOR=someone-else
	out=$({
		sb-audit list audit.ndjson
		sb-audit list --format table audit.ndjson
		sb-audit verify audit.ndjson
		sb-audit --format table verify audit.ndjson
	} 2>&1)
	refute [ -z "$out" ]
	for word in very-secret someone-else; do
		[[ $out != *"$word"* ]] || fail "output holds $word"
	done
	run -0 bash -c 'sb-audit verify audit.ndjson | jq -c keys'
	assert_output '["entries","file","head","ok","type"]'
	cmp <(sb-audit list audit.ndjson) audit.ndjson
}

# ---- usage ----

@test "usage: no command, an unknown one, an unknown option, a second FILE, a bad format: status 2" {
	run -2 --separate-stderr sb-audit
	assert_equal "$stderr" "sb-audit: no command: verify or list
Try 'sb-audit --help' for more information."
	run -2 --separate-stderr sb-audit check audit.ndjson
	assert_equal "$stderr" "sb-audit: unknown command 'check': verify or list
Try 'sb-audit --help' for more information."
	run -2 --separate-stderr sb-audit verify --frobnicate
	assert_equal "$stderr" "sb-audit: unknown option '--frobnicate'
Try 'sb-audit --help' for more information."
	run -2 --separate-stderr sb-audit list a.ndjson b.ndjson
	assert_equal "$stderr" "sb-audit: list takes one FILE at most ('b.ndjson' is one too many)
Try 'sb-audit --help' for more information."
	run -2 --separate-stderr sb-audit list --format csv
	assert_equal "$stderr" "sb-audit: --format: 'csv' is not one of ndjson, table
Try 'sb-audit --help' for more information."
	assert_output ""
}

@test "--help: the synopsis of the man page, the commands and every option; --version" {
	run -0 sb-audit --help
	assert_line -n 0 "Usage: sb-audit [OPTION]... verify [FILE]"
	assert_line -n 1 "  or:  sb-audit [OPTION]... list [FILE]"
	assert_line --regexp '^  verify  walk the hash chain'
	assert_line --regexp '^  list    write the entries'
	for opt in since until action format tenant where state-dir; do
		assert_line --regexp "^ .*--$opt"
	done
	man=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$SB_ROOT/man/sb-audit.1" | grep -c '^\.B sb\\-audit$')
	assert_equal "$man" 2
	run -0 sb-audit --version
	assert_output --regexp '^sb-audit \(sb\) [0-9]'
}

@test "the writer refuses to append to a log whose last line lost its newline: two entries are never glued" {
	printf '{"action":"a"}\n{"action":"b"}\n' | "$APPEND" log.ndjson
	truncate -s -1 log.ndjson
	cp log.ndjson before
	run -5 "$APPEND" log.ndjson <<<'{"action":"c"}'
	cmp log.ndjson before
}
