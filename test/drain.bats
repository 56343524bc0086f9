#!/usr/bin/env bats
# lib/drain: masking, clustering into templates, generalisation, eviction,
# through the small driver test/drain.c (one message a line on stdin, one
# {"template","seq"} line per message at the end).

setup_file() {
	load helpers/driver
	build_driver DRAIN test/drain.c
}

setup() {
	load test_helper/common
}

# The templates alone, one a line.
templates() {
	"$DRAIN" "$@" | jq -r .template
}

@test "masking: numbers, hex, UUIDs and identifiers with digits" {
	run -0 templates <<'EOF'
took 123 ms, -1.5 degrees, 50% done
addr 0x7ffd1234 id deadbeef12 ok
request 550e8400-e29b-41d4-a716-446655440000 done
PacketResponder 1 for block blk_-6952295868487656571 terminating
Created MRAppMaster for application appattempt_1445144423722_0020_000001
generating core.12345 on node-246 with uid=0
EOF
	assert_output - <<'EOF'
took <*> ms, <*> degrees, <*> done
addr <*> id <*> ok
request <*> done
PacketResponder <*> for block blk_<*> terminating
Created MRAppMaster for application appattempt_<*>
generating core.<*> on node-<*> with uid=<*>
EOF
}

@test "masking: a single digit after letters is part of the name" {
	run -0 templates <<'EOF'
Failed password for root from 1.2.3.4 port 22 ssh2 on eth0
EOF
	assert_output 'Failed password for root from <*> port <*> ssh2 on eth0'
}

@test "masking: IP addresses with ports, host names, paths and URLs" {
	run -0 templates <<'EOF'
added 10.251.73.220:50010 from /10.10.34.11:45307 and 192.168.0.1
reverse mapping for mail.example.com [173.234.31.186] failed
proxy.cse.cuhk.edu.hk:5070 open through proxy
opened /var/log/app.log and https://example.com/a/b?x=1 and ./conf/x.yml
class org.apache.hadoop.mapred.Task loaded
EOF
	assert_output - <<'EOF'
added <*>:<*> from /<*>:<*> and <*>
reverse mapping for <*> [<*>] failed
<*>:<*> open through proxy
opened <*> and <*> and <*>
class org.apache.hadoop.mapred.Task loaded
EOF
}

@test "masking: quoted values, dates, quantities with units, empty values" {
	run -0 templates <<'EOF'
user 'su root' said "hello there", name="a b"
connection at Tue Jul 26 05:47:42 2005 from x
sent 4042 bytes (3.94 KB), lifetime <1 sec
connection from 1.2.3.4 () at noon
it's a 'dangling quote
EOF
	assert_output - <<'EOF'
user '<*>' said "<*>", name="<*>"
connection at <*> <*> <*> <*>:<*>:<*> <*> from x
sent <*> bytes (<*>), lifetime <*>
connection from <*> (<*>) at noon
it's a 'dangling quote
EOF
}

@test "lines that differ in variables share a template and a seq" {
	run -0 "$DRAIN" <<'EOF'
Receiving block blk_1 src: /10.0.0.1:50010 dest: /10.0.0.2:50010
Receiving block blk_-22 src: /10.0.0.3:41000 dest: /10.0.0.4:50010
Receiving block blk_333 src: /10.0.0.5:42000 dest: /10.0.0.6:50010
EOF
	assert_output - <<'EOF'
{"template":"Receiving block blk_<*> src: /<*>:<*> dest: /<*>:<*>","seq":1}
{"template":"Receiving block blk_<*> src: /<*>:<*> dest: /<*>:<*>","seq":1}
{"template":"Receiving block blk_<*> src: /<*>:<*> dest: /<*>:<*>","seq":1}
EOF
}

@test "different events get different templates" {
	run -0 "$DRAIN" <<'EOF'
Link error
Link ok
Deleting block blk_1 file /data/blk_1
Verification succeeded for blk_2
Link error
EOF
	assert_output - <<'EOF'
{"template":"Link error","seq":1}
{"template":"Link ok","seq":2}
{"template":"Deleting block blk_<*> file <*>","seq":3}
{"template":"Verification succeeded for blk_<*>","seq":4}
{"template":"Link error","seq":1}
EOF
}

@test "the word count separates templates" {
	run -0 templates <<'EOF'
job 1 started
job 2 started now
job 3 started
EOF
	assert_output - <<'EOF'
job <*> started
job <*> started now
job <*> started
EOF
}

@test "a position becomes <*> after enough distinct words, and earlier lines follow" {
	run -0 "$DRAIN" -c <<'EOF'
session opened for user alice by sshd
session opened for user bob by sshd
session opened for user carol by sshd
session opened for user dave by sshd
session opened for user erin by sshd
EOF
	assert_output - <<'EOF'
{"template":"session opened for user <*> by sshd","seq":1,"count":5}
{"template":"session opened for user <*> by sshd","seq":1,"count":5}
{"template":"session opened for user <*> by sshd","seq":1,"count":5}
{"template":"session opened for user <*> by sshd","seq":1,"count":5}
{"template":"session opened for user <*> by sshd","seq":1,"count":5}
EOF
}

@test "a word with few distinct values stays a constant; -k 1 generalises at once, as Drain" {
	printf '%s\n' 'connection closed by peer now' 'connection closed by server now' \
		'connection closed by peer now' >in.txt
	run -0 templates <in.txt
	assert_output - <<'EOF'
connection closed by peer now
connection closed by server now
connection closed by peer now
EOF
	run -0 templates -k 1 <in.txt
	assert_output - <<'EOF'
connection closed by <*> now
connection closed by <*> now
connection closed by <*> now
EOF
}

@test "variables keep what their words share up to a separator" {
	run -0 templates <<'EOF'
auth failure; rhost=alpha user=root
auth failure; rhost=beta user=root
auth failure; rhost=gamma user=root
auth failure; rhost=delta user=root
EOF
	assert_output - <<'EOF'
auth failure; rhost=<*> user=root
auth failure; rhost=<*> user=root
auth failure; rhost=<*> user=root
auth failure; rhost=<*> user=root
EOF
}

@test "words that differ only in a masked part are a variable at once" {
	run -0 templates <<'EOF'
Block rdd_1 stored in memory
Block broadcast_2_piece0 stored in memory
EOF
	assert_output - <<'EOF'
Block <*> stored in memory
Block <*> stored in memory
EOF
}

@test "an optional variable does not split an event" {
	run -0 "$DRAIN" <<'EOF'
a.example.com:443 close, 474 bytes sent, 153 bytes received, lifetime 00:12
b.example.com:80 close, 4042 bytes (3.94 KB) sent, 153 bytes received, lifetime <1 sec
c.example.com:80 close, 4042 bytes sent, 1153 bytes (1.1 KB) received, lifetime 01:07:47
EOF
	assert_output - <<'EOF'
{"template":"<*>:<*> close, <*> bytes <*> sent, <*> bytes <*> received, lifetime <*>","seq":1}
{"template":"<*>:<*> close, <*> bytes <*> sent, <*> bytes <*> received, lifetime <*>","seq":1}
{"template":"<*>:<*> close, <*> bytes <*> sent, <*> bytes <*> received, lifetime <*>","seq":1}
EOF
}

@test "eviction: max_templates bounds the count, an evicted seq is not reused, the callback runs" {
	run -0 --separate-stderr "$DRAIN" -v -m 2 <<'EOF'
alpha event happened
beta thing failed badly
gamma stopped
alpha event happened
beta thing failed badly
EOF
	assert_output - <<'EOF'
{"template":"alpha event happened","seq":1}
{"template":"beta thing failed badly","seq":2}
{"template":"gamma stopped","seq":3}
{"template":"alpha event happened","seq":4}
{"template":"beta thing failed badly","seq":5}
EOF
	[ "$stderr" = '{"templates":2,"max_live":2,"evicted":3,"evict_calls":3,"merges":0}' ]
}

@test "eviction keeps the count bounded on many distinct templates" {
	# Three words spelt with letters for the digits of i, 7i and 13i: no two lines alike.
	run -0 --separate-stderr bash -c 'for i in $(seq 1000); do echo "$i $((i * 7)) $((i * 13))" | tr 0-9 a-j; done |
		"$DRAIN" -v -m 50 | jq -r .seq | sort -un | wc -l'
	[ "$output" -gt 900 ]
	run jq -r '"\(.templates) \(.max_live) \(.evicted > 800) \(.evicted == .evict_calls)"' <<<"$stderr"
	assert_output '50 50 true true'
}

@test "an empty or blank message has the empty template" {
	run -0 "$DRAIN" < <(printf '\n   \t\nx\n\n')
	assert_output - <<'EOF'
{"template":"","seq":1}
{"template":"","seq":1}
{"template":"x","seq":2}
{"template":"","seq":1}
EOF
}

@test "a very long message" {
	run -0 bash -c 'for l in 1 2; do seq -s " v" $((l * 10)) $((l * 10 + 19999)) | sed "s/^/start /"; done |
		"$DRAIN" | jq -r "\"\(.seq) \(.template | length) \(.template | split(\" \") | length)\""'
	assert_output - <<'EOF'
1 100004 20001
1 100004 20001
EOF
}

@test "non-ASCII words are kept, NUL bytes are spaces, bytes pass through" {
	run -0 bash -c 'printf "Benutzer müller angemeldet von 10.0.0.1\n用户 登录 失败 42\na\0b 1\n\377\376 7\n" | "$DRAIN" | jq -r .template'
	assert_output - <<'EOF'
Benutzer müller angemeldet von <*>
用户 登录 失败 <*>
a b <*>
�� <*>
EOF
}
