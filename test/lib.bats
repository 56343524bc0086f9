#!/usr/bin/env bats
# The shared library's mechanisms that no tool exposes on its own yet:
# times, durations, SHA-256 ids, atomic writes, locked appends, the audit chain.

setup() {
	load test_helper/common
	unit="$SB_ROOT/build/sb-unit-tests"
}

@test "lib: RFC 3339 and epoch times parse and format" { run "$unit" time; assert_success; }
@test "lib: durations 90s, 5m, 1h, 7d and combinations" { run "$unit" duration; assert_success; }
@test "lib: SHA-256 (libcrypto) and content-derived ids" { run "$unit" hash; assert_success; }
@test "lib: atomic replacement leaves no temporary file" { run "$unit" atomic; assert_success; }
@test "lib: concurrent appends under flock keep lines whole" { run "$unit" append; assert_success; }
@test "lib: audit log hash chain detects edits and deletions" { run "$unit" audit; assert_success; }
@test "lib: string map, removal included" { run "$unit" strmap; assert_success; }
@test "lib: circuit breaker opens, stays open, half-opens for one probe, closes" { run "$unit" breaker; assert_success; }
@test "lib: de-duplication window, pruning, save and load" { run "$unit" dedup; assert_success; }
@test "lib: state directory is created with mode 0700" { run "$unit" state; assert_success; }
@test "lib: dotted configuration keys" { run "$unit" config; assert_success; }
@test "lib: statistics: mean and sd, median and MAD, quantiles, Student t, least squares" { run "$unit" stats; assert_success; }
@test "lib: the flat JSON scan accepts exactly JSON and finds top-level members" { run "$unit" flatjson; assert_success; }
@test "lib: unknown unit test name is an error" { run -2 "$unit" nosuch; }
