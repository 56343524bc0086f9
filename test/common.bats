#!/usr/bin/env bats
# Behaviour every tool shares (lib/), tested once through sb-score:
# options, input handling, --on-error, --where, --tenant, forwarding, output.

setup() {
	load test_helper/common
	insights="$FIXTURES/sb-score/insights.ndjson"
}

metric() { # metric N: a metric record with value N
	printf '{"type":"metric","ts":"2026-11-24T02:00:00Z","metric":"rps","value":%s}\n' "$1"
}

@test "--help prints the usage on stdout and exits 0" {
	run -0 --separate-stderr sb-score --help
	assert_line --index 0 'Usage: sb-score [OPTION]... [FILE]...'
	assert_output --partial '--on-error MODE'
	assert_output --partial '--max N'
	[ -z "$stderr" ]
	run -0 sb-score -h
	assert_line --index 0 'Usage: sb-score [OPTION]... [FILE]...'
}

@test "--version names the tool and version" {
	run -0 sb-score --version
	assert_output --regexp '^sb-score \(sb\) [0-9]+\.[0-9]+\.[0-9]+$'
	run -0 sb-score -V
}

@test "an unknown option exits 2 with a one-line hint" {
	run -2 --separate-stderr sb-score --frobnicate
	assert_equal "${stderr_lines[0]}" "sb-score: unknown option '--frobnicate'"
	assert_equal "${stderr_lines[1]}" "Try 'sb-score --help' for more information."
	[ -z "$output" ]
	run -2 --separate-stderr sb-score -Z
	assert_equal "${stderr_lines[0]}" "sb-score: unknown option '-Z'"
}

@test "a missing or invalid option value exits 2" {
	run -2 --separate-stderr sb-score --max
	assert_equal "${stderr_lines[0]}" "sb-score: option '--max' needs an argument"
	run -2 --separate-stderr sb-score --max ten
	assert_equal "${stderr_lines[0]}" "sb-score: --max: 'ten' is not an integer from 1 to 1000000000"
	run -2 --separate-stderr sb-score --risk extreme
	assert_equal "${stderr_lines[0]}" "sb-score: --risk: 'extreme' is not one of low, medium, high"
	run -2 --separate-stderr sb-score --on-error ignore
	assert_equal "${stderr_lines[0]}" "sb-score: --on-error: 'ignore' is not fail, warn or quarantine=FILE"
}

@test "options accept --opt=value and short forms" {
	run -0 sb-score --max=1 "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 1
	metric 1 >m.ndjson
	run -0 sb-score -q -u -t acme -w 'true' m.ndjson
}

@test "--on-error warn (default): message with file and line, skip, count at the end" {
	{ metric 1; echo '{"type":"metric",'; echo '[1,2]'; echo '{"no":"type"}'; metric 2; } >in.ndjson
	run -0 --separate-stderr sb-score in.ndjson
	assert_equal "${#lines[@]}" 2
	assert_equal "${stderr_lines[0]}" "sb-score: in.ndjson:2: invalid JSON: Unfinished JSON term at EOF at column 17"
	assert_equal "${stderr_lines[1]}" "sb-score: in.ndjson:3: not a JSON object"
	assert_equal "${stderr_lines[2]}" 'sb-score: in.ndjson:4: record has no "type" string'
	assert_equal "${stderr_lines[3]}" "sb-score: 3 malformed lines skipped"
}

@test "--on-error warn names standard input <stdin>" {
	run -0 --separate-stderr sb-score <<<'oops'
	assert_equal "${stderr_lines[0]}" "sb-score: <stdin>:1: invalid JSON: Invalid numeric literal at EOF at column 4"
}

@test "-q drops per-line warnings but still reports the count" {
	{ metric 1; echo 'bad'; } >in.ndjson
	run -0 --separate-stderr sb-score -q in.ndjson
	assert_equal "$stderr" "sb-score: 1 malformed line skipped"
}

@test "--on-error fail stops at the first malformed line with status 3" {
	{ metric 1; echo 'bad'; metric 2; } >in.ndjson
	run -3 --separate-stderr sb-score --on-error fail in.ndjson
	assert_equal "$stderr" "sb-score: in.ndjson:2: invalid JSON: Invalid numeric literal at EOF at column 3"
	assert_output "$(metric 1)"
}

@test "--on-error quarantine=FILE keeps the raw line with its position" {
	{ metric 1; echo '{"type":'; metric 2; echo '"str"'; } >in.ndjson
	run -0 --separate-stderr sb-score --on-error quarantine=q.ndjson in.ndjson
	assert_equal "${#lines[@]}" 2
	assert_equal "${stderr_lines[2]}" "sb-score: 2 malformed lines quarantined in 'q.ndjson'"
	run -0 jq -c '[.file,.line,.error,.raw]' q.ndjson
	assert_line --index 0 '["in.ndjson",2,"invalid JSON: Unfinished JSON term at EOF at column 8","{\"type\":"]'
	assert_line --index 1 '["in.ndjson",4,"not a JSON object","\"str\""]'
	# a second run appends
	run -0 sb-score -q --on-error quarantine=q.ndjson in.ndjson
	assert_equal "$(wc -l <q.ndjson)" 4
}

@test "an unwritable quarantine file is an I/O error" {
	echo bad >in.ndjson
	run -5 --separate-stderr sb-score --on-error quarantine=/nonexistent/q in.ndjson
	assert_equal "$stderr" "sb-score: cannot write quarantine file '/nonexistent/q': No such file or directory"
}

@test "a 10 MB line is read and forwarded intact" {
	big=$(head -c 10485760 /dev/zero | tr '\0' 'x')
	printf '{"type":"log","message":"%s"}\n' "$big" >big.ndjson
	metric 1 >>big.ndjson
	run -0 sb-score big.ndjson
	assert_equal "${#lines[@]}" 2
	assert_equal "${#lines[0]}" $((10485760 + 27))
	cmp <(head -1 big.ndjson) <(printf '%s\n' "${lines[0]}")
}

@test "a malformed 10 MB line gives a short message, not the line" {
	big=$(head -c 10485760 /dev/zero | tr '\0' 'x')
	printf '{"type":"log","message":"%s}\n' "$big" >big.ndjson
	run -0 --separate-stderr sb-score big.ndjson
	[ "${#stderr}" -lt 300 ]
	assert_equal "${stderr_lines[0]}" "sb-score: big.ndjson:1: invalid JSON: Unfinished string at EOF at column 10485786"
}

@test "CRLF line endings are accepted and forwarded with LF" {
	printf '%s\r\n%s\r\n' "$(metric 1)" "$(metric 2)" >crlf.ndjson
	run -0 --separate-stderr sb-score crlf.ndjson
	assert_equal "$stderr" ""
	assert_equal "$output" "$(metric 1; metric 2)"
	sb-score crlf.ndjson | od -c | { ! grep -q '\\r'; }
}

@test "a last line without newline is read; blank lines are skipped" {
	{ echo; metric 1; printf '   \n\t\n'; printf '%s' "$(metric 2)"; } >in.ndjson
	run -0 --separate-stderr sb-score in.ndjson
	assert_equal "$output" "$(metric 1; metric 2)"
	assert_equal "$stderr" ""
}

@test "files are read in order; - means standard input" {
	metric 1 >a.ndjson
	metric 3 >c.ndjson
	run -0 sb-score a.ndjson - c.ndjson < <(metric 2)
	assert_equal "$output" "$(metric 1; metric 2; metric 3)"
}

@test "an unreadable input file is reported, the others are read, status 5" {
	metric 1 >a.ndjson
	run -5 --separate-stderr sb-score missing.ndjson a.ndjson
	assert_equal "$stderr" "sb-score: cannot open 'missing.ndjson': No such file or directory"
	assert_output "$(metric 1)"
	run -5 --separate-stderr sb-score .
	assert_equal "$stderr" "sb-score: cannot open '.': Is a directory"
}

@test "--where keeps records for which the expression is true" {
	{ metric 1; metric 5; metric 9; } >in.ndjson
	run -0 sb-score --where '.value > 3' in.ndjson
	assert_equal "$output" "$(metric 5; metric 9)"
	run -0 sb-score --where 'false' in.ndjson
	assert_output ""
	run -0 sb-score --where 'null' in.ndjson
	assert_output ""
	run -0 sb-score --where '.value' in.ndjson
	assert_equal "${#lines[@]}" 3
	# --where applies to consumed records too
	run -0 sb-score --where '.type != "insight" or .severity == "low"' "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 1
	assert_output --partial '"component":"search"'
}

@test "--where with a compile error exits 2 with jq's message" {
	run -2 --separate-stderr sb-score --where '.value >' /dev/null
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" 'sb-score: --where: syntax error, unexpected $end (Unix shell quoting issues?) at <top-level>, line 1: .value >'
}

@test "--where runtime errors are malformed records under --on-error" {
	{ metric 1; echo '{"type":"metric","value":"x"}'; } >in.ndjson
	run -0 --separate-stderr sb-score --where '.value + 1 > 0' in.ndjson
	assert_output "$(metric 1)"
	assert_regex "${stderr_lines[0]}" '^sb-score: in.ndjson:2: --where: string .* cannot be added'
	run -3 sb-score --on-error fail --where '.value + 1 > 0' in.ndjson
}

@test "--tenant reads and writes only that tenant's records" {
	run -0 sb-score --tenant acme "$insights"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --partial '"metric":"rps"'
	assert_line --index 1 --partial '"component":"checkout"'
	run -0 sb-score --tenant nobody "$insights"
	assert_output ""
}

@test "records of other types are forwarded unchanged and in order, before the opportunities" {
	run -0 sb-score "$insights"
	assert_line --index 0 "$(sed -n 2p "$insights")"
	assert_line --index 1 "$(sed -n 6p "$insights")"
	assert_line --index 2 --partial '"type":"opportunity"'
}

@test "--pass forwards consumed records too" {
	run -0 sb-score --pass "$insights"
	assert_equal "${#lines[@]}" 9
	for i in 1 2 3 4 5 6; do assert_line --index $((i - 1)) "$(sed -n "${i}p" "$insights")"; done
}

@test "a closed pipe ends the tool quietly with status 0" {
	seq 1 200000 | awk '{ printf "{\"type\":\"metric\",\"metric\":\"m\",\"value\":%d}\n", $1 }' >big.ndjson
	run -0 --separate-stderr bash -c 'set -o pipefail; sb-score big.ndjson | head -1'
	assert_output '{"type":"metric","metric":"m","value":1}'
	assert_equal "$stderr" ""
}

@test "a write error (full disk) is reported with status 5" {
	run -5 --separate-stderr bash -c 'sb-score "$1" >/dev/full' _ "$insights"
	assert_equal "$stderr" "sb-score: write error on standard output: No space left on device"
}

@test "output is block-buffered into a pipe and line-buffered with --unbuffered" {
	# With --unbuffered the first record is out before the input ends.
	run -0 bash -c '{ echo "{\"type\":\"metric\",\"value\":1}"; sleep 5; } | sb-score --unbuffered | { read -r -t 3 line && echo "$line"; }'
	assert_output '{"type":"metric","value":1}'
	run bash -c '{ echo "{\"type\":\"metric\",\"value\":1}"; sleep 5; } | sb-score | { read -r -t 3 line && echo "$line"; }'
	assert_output ""
}

@test "a progress line appears on a terminal after 2 seconds, and never with -q" {
	command -v script >/dev/null || skip "script(1) is not installed"
	metric 1 >a.ndjson
	script -qec "sh -c '(cat a.ndjson; sleep 2.5; cat a.ndjson) | sb-score >out.ndjson'" typescript >/dev/null </dev/null
	grep -q 'in, .* out, .* records/s' typescript
	grep -q $'\033\\[K' typescript
	assert_equal "$(wc -l <out.ndjson)" 2
	script -qec "sh -c '(cat a.ndjson; sleep 2.5; cat a.ndjson) | sb-score -q >out.ndjson'" typescript2 >/dev/null </dev/null
	run grep -c 'records/s' typescript2
	assert_output 0
}

@test "no progress line when stderr is not a terminal" {
	metric 1 >a.ndjson
	run -0 --separate-stderr bash -c '(cat a.ndjson; sleep 2.5; cat a.ndjson) | sb-score'
	assert_equal "$stderr" ""
}

@test "the same input gives the same output, byte for byte" {
	sb-score "$insights" >one.ndjson
	sb-score "$insights" >two.ndjson
	cmp one.ndjson two.ndjson
	cmp one.ndjson "$FIXTURES/sb-score/expected.ndjson"
}

@test "configuration: file, then environment, then options; --config must exist" {
	echo '{"score":{"max":1}}' >cfg.json
	run -0 sb-score --config cfg.json "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 1
	SB_SCORE_MAX=2 run -0 sb-score --config cfg.json "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 2
	SB_SCORE_MAX=2 run -0 sb-score --config cfg.json --max 3 "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 3
	SB_CONFIG=cfg.json run -0 sb-score "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 1
	mkdir -p "$HOME/.config/sb" && cp cfg.json "$HOME/.config/sb/config.json"
	run -0 sb-score "$insights"
	assert_equal "$(grep -c '"opportunity"' <<<"$output")" 1
	run -2 --separate-stderr sb-score --config nope.json /dev/null
	assert_equal "$stderr" "sb-score: cannot read configuration 'nope.json': No such file or directory"
}

@test "a malformed configuration file exits 2 naming the file" {
	echo '{"score":' >bad.json
	run -2 --separate-stderr sb-score --config bad.json /dev/null
	assert_regex "$stderr" "^sb-score: bad.json: invalid JSON: "
	echo '[1]' >arr.json
	run -2 --separate-stderr sb-score --config arr.json /dev/null
	assert_equal "$stderr" "sb-score: arr.json: configuration is not a JSON object"
	echo '{"score":{"max":"lots"}}' >val.json
	run -2 --separate-stderr sb-score --config val.json /dev/null
	assert_equal "${stderr_lines[0]}" "sb-score: --max: 'lots' is not an integer from 1 to 1000000000"
	assert_equal "${stderr_lines[1]}" "sb-score: the value came from val.json (score.max)"
	echo '{"score":{"max":[1]}}' >kind.json
	run -2 --separate-stderr sb-score --config kind.json /dev/null
	assert_equal "$stderr" 'sb-score: kind.json: "score.max" must be a string, number or boolean'
}

@test "--on-error and --tenant can come from the environment" {
	echo bad >in.ndjson
	SB_ON_ERROR=fail run -3 sb-score in.ndjson
	SB_TENANT=globex run -0 sb-score "$insights"
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"component":"search"'
}
