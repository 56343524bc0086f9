#!/usr/bin/env bats
# lib/logformat: syslog, combined and Alertmanager lines and structured JSON
# log lines as log and event records, through the small driver test/logformat.c.

setup_file() {
	load helpers/driver
	build_driver LOGFORMAT test/logformat.c
}

setup() {
	load test_helper/common
}

NOW=2026-11-24T12:00:00Z

@test "syslog: RFC 3164 with and without PRI, padded single-digit day, host-less tag" {
	run -0 "$LOGFORMAT" syslog "$NOW" <<'EOF'
<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
<86>Nov  4 09:01:02 web1 sshd[1234]: Accepted publickey for deploy from 192.0.2.7
Nov 24 02:00:00 web1 CRON[991]: (root) CMD (run-parts /etc/cron.hourly)
Nov 4 09:01:02 web1 kernel: [ 12.345] usb 1-1: new device
<14>Nov 24 02:00:00 myapp[42]: logged locally, without a host
<13>Nov 24 02:00:00 web1 -- MARK --
EOF
	assert_output - <<'EOF'
{"type":"log","ts":"2026-10-11T22:14:15Z","level":"FATAL","message":"'su root' failed for lonvick on /dev/pts/8","component":"su","fields":{"host":"mymachine","app":"su","facility":"auth"},"id":"8244dd2d7c6a2be2"}
{"type":"log","ts":"2026-11-04T09:01:02Z","level":"INFO","message":"Accepted publickey for deploy from 192.0.2.7","component":"sshd","fields":{"host":"web1","app":"sshd","pid":"1234","facility":"authpriv"},"id":"dd2fd1c6d8be2495"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"(root) CMD (run-parts /etc/cron.hourly)","component":"CRON","fields":{"host":"web1","app":"CRON","pid":"991"},"id":"579094f25b259f71"}
{"type":"log","ts":"2026-11-04T09:01:02Z","level":"INFO","message":"[ 12.345] usb 1-1: new device","component":"kernel","fields":{"host":"web1","app":"kernel"},"id":"a6b3136e9f923528"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"logged locally, without a host","component":"myapp","fields":{"app":"myapp","pid":"42","facility":"user"},"id":"84e1ab421b68b089"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"-- MARK --","fields":{"host":"web1","facility":"user"},"id":"9d5412e5e350795a"}
EOF
}

@test "syslog: level and facility from PRI" {
	for pri in 0 1 2 3 4 5 6 7 191; do printf '<%d>Nov 24 02:00:00 h a: m\n' "$pri"; done >in.log
	run -0 bash -c '"$LOGFORMAT" syslog "$1" <in.log | jq -r "\"\(.level) \(.fields.facility)\""' _ "$NOW"
	assert_output - <<'EOF'
FATAL kern
FATAL kern
FATAL kern
ERROR kern
WARN kern
INFO kern
INFO kern
DEBUG kern
DEBUG local7
EOF
}

@test "syslog: RFC 3164's year is now's, or the previous one when more than a day ahead" {
	run -0 bash -c '"$LOGFORMAT" syslog 2027-01-02T00:00:00Z | jq -r .ts' <<'EOF'
Dec 31 23:59:58 h a: last line of the year
Jan  2 10:00:00 h a: later today
Jan  3 12:00:00 h a: more than a day ahead
Feb 29 12:00:00 h a: the last leap day
EOF
	assert_output - <<'EOF'
2026-12-31T23:59:58Z
2027-01-02T10:00:00Z
2026-01-03T12:00:00Z
2024-02-29T12:00:00Z
EOF
}

@test "syslog: RFC 5424 with structured data, NILVALUEs, a BOM, and rsyslog's RFC 3339 file format" {
	{
		printf '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event log entry...\n'
		printf '<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %%%% It'"'"'s time to make the do-nuts.\n'
		printf '<11>1 - - - - - -\n'
		printf '<14>1 2026-11-24T02:00:00Z web1 checkout 311 ORD - \xef\xbb\xbforder 42 paid\n'
		printf '<12>1 2026-11-24T02:00:00+01:00 web1 checkout - - [meta@1 q="say \\"hi\\"" br="a\\]b" bs="c:\\\\d" odd="\\n"][meta@1 q="again"][origin ip="192.0.2.1" ip="192.0.2.2"] done\n'
		printf '2026-11-24T02:00:00.123456+01:00 web1 kernel: [ 1.23] eth0: link up\n'
	} >in.log
	run -0 "$LOGFORMAT" syslog "$NOW" <in.log
	assert_output - <<'EOF'
{"type":"log","ts":"2003-10-11T22:14:15.003Z","level":"INFO","message":"An application event log entry...","component":"evntslog","fields":{"host":"mymachine.example.com","app":"evntslog","msgid":"ID47","facility":"local4","sd":{"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"},"examplePriority@32473":{"class":"high"}}},"id":"63b482152f8bd460"}
{"type":"log","ts":"2003-08-24T12:14:15.000003Z","level":"INFO","message":"%% It's time to make the do-nuts.","component":"myproc","fields":{"host":"192.0.2.1","app":"myproc","pid":"8710","facility":"local4"},"id":"58a8b7800c627a51"}
{"type":"log","ts":"2026-11-24T12:00:00Z","level":"ERROR","message":"","fields":{"facility":"user"},"id":"a6ea10f34f2f4c4e"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"order 42 paid","component":"checkout","fields":{"host":"web1","app":"checkout","pid":"311","msgid":"ORD","facility":"user"},"id":"a11968f0b65dd3f9"}
{"type":"log","ts":"2026-11-24T01:00:00Z","level":"WARN","message":"done","component":"checkout","fields":{"host":"web1","app":"checkout","facility":"user","sd":{"meta@1":{"q":["say \"hi\"","again"],"br":"a]b","bs":"c:\\d","odd":"\\n"},"origin":{"ip":["192.0.2.1","192.0.2.2"]}}},"id":"9e40d7110364e6b8"}
{"type":"log","ts":"2026-11-24T01:00:00.123456Z","level":"INFO","message":"[ 1.23] eth0: link up","component":"kernel","fields":{"host":"web1","app":"kernel"},"id":"c9f5e3256626f762"}
EOF
}

@test "syslog: malformed lines" {
	run -0 "$LOGFORMAT" syslog "$NOW" <<'EOF'

hello world
<999>Oct 11 22:14:15 h a: m
<13x>Oct 11 22:14:15 h a: m
Oct 32 22:14:15 h a: m
Oct 11 22:14 h a: m
Feb 30 10:00:00 h a: m
<13>2 2026-11-24T02:00:00Z h a p m - x
<13>1 yesterday h a p m - x
<13>1 2026-11-24T02:00:00Z h a
<13>1 2026-11-24T02:00:00Z h a p m x
<13>1 2026-11-24T02:00:00Z h a p m [a b="c"
<13>1 2026-11-24T02:00:00Z h a p m [a b=c]
<13>1 2026-11-24T02:00:00Z h a p m [a b="c"]x
2026-13-01T00:00:00Z h a: m
EOF
	assert_output - <<'EOF'
error: not a syslog line
error: not a syslog line
error: syslog: bad priority
error: syslog: bad priority
error: syslog: bad timestamp 'Oct 32 22:14:15'
error: syslog: bad timestamp 'Oct 11 22:14 h '
error: syslog: bad timestamp 'Feb 30 10:00:00'
error: syslog: unsupported version 2
error: syslog: bad timestamp 'yesterday'
error: syslog: truncated RFC 5424 header
error: syslog: bad structured data
error: syslog: unterminated structured data element [a]
error: syslog: bad structured data parameter in [a]
error: syslog: bad structured data
error: syslog: bad timestamp '2026-13-01T00:00:00Z'
EOF
}

@test "combined: 200, 404, 502, '-' bytes, trailing fields, common log format, unparsable requests" {
	run -0 "$LOGFORMAT" combined <<'EOF'
203.0.113.9 - - [24/Nov/2026:02:00:00 +0000] "GET /api/cart HTTP/1.1" 200 512 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"
203.0.113.9 - alice [24/Nov/2026:03:30:00 +0130] "POST /api/login?next=%2F HTTP/2.0" 404 - "-" "curl/8.0"
10.0.0.1 - - [24/Nov/2026:02:00:01 -0500] "GET /api/cart HTTP/1.1" 502 157 "-" "Go-http-client/1.1" 0.512 "upstream=10.0.0.7"
127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
198.51.100.2 - - [24/Nov/2026:02:00:02 +0000] "\x16\x03\x01\x02\x00\x01" 400 157 "-" "-"
198.51.100.2 - - [24/Nov/2026:02:00:02 +0000] "-" 408 0 "-" "-"
198.51.100.2 - - [24/Nov/2026:02:00:02 +0000] "GET /a\"b HTTP/1.1" 301 0 "-" "say \"hi\""
EOF
	assert_output - <<'EOF'
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"GET /api/cart 200","fields":{"remote":"203.0.113.9","method":"GET","path":"/api/cart","protocol":"HTTP/1.1","status":200,"bytes":512,"referer":"https://shop.example/","agent":"Mozilla/5.0 (X11; Linux x86_64)"},"id":"00bbce80b501520f"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"WARN","message":"POST /api/login?next=%2F 404","fields":{"remote":"203.0.113.9","user":"alice","method":"POST","path":"/api/login?next=%2F","protocol":"HTTP/2.0","status":404,"bytes":0,"referer":"-","agent":"curl/8.0"},"id":"d2e916e05054350a"}
{"type":"log","ts":"2026-11-24T07:00:01Z","level":"ERROR","message":"GET /api/cart 502","fields":{"remote":"10.0.0.1","method":"GET","path":"/api/cart","protocol":"HTTP/1.1","status":502,"bytes":157,"referer":"-","agent":"Go-http-client/1.1","extra":"0.512 \"upstream=10.0.0.7\""},"id":"cf694cec106ed1e5"}
{"type":"log","ts":"2000-10-10T20:55:36Z","level":"INFO","message":"GET /apache_pb.gif 200","fields":{"remote":"127.0.0.1","ident":"user-identifier","user":"frank","method":"GET","path":"/apache_pb.gif","protocol":"HTTP/1.0","status":200,"bytes":2326},"id":"c8741869fc7f6b70"}
{"type":"log","ts":"2026-11-24T02:00:02Z","level":"WARN","message":"\\x16\\x03\\x01\\x02\\x00\\x01 400","fields":{"remote":"198.51.100.2","request":"\\x16\\x03\\x01\\x02\\x00\\x01","status":400,"bytes":157,"referer":"-","agent":"-"},"id":"2d171c2583bb612d"}
{"type":"log","ts":"2026-11-24T02:00:02Z","level":"WARN","message":"- 408","fields":{"remote":"198.51.100.2","request":"-","status":408,"bytes":0,"referer":"-","agent":"-"},"id":"68badacff977f5a0"}
{"type":"log","ts":"2026-11-24T02:00:02Z","level":"INFO","message":"GET /a\"b 301","fields":{"remote":"198.51.100.2","method":"GET","path":"/a\"b","protocol":"HTTP/1.1","status":301,"bytes":0,"referer":"-","agent":"say \"hi\""},"id":"3a34465573326c62"}
EOF
}

@test "combined: malformed lines" {
	run -0 "$LOGFORMAT" combined <<'EOF'

not a log line
1.2.3.4 - - 24/Nov/2026:02:00:00 +0000 "GET / HTTP/1.1" 200 1
1.2.3.4 - - [24/Nov/2026:25:00:00 +0000] "GET / HTTP/1.1" 200 1
1.2.3.4 - - [2026-11-24T02:00:00Z] "GET / HTTP/1.1" 200 1
1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 2x0 1
1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 200 many
1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1 200 1
1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "unterminated
1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 200
EOF
	assert_output - <<'EOF'
error: not a combined log line
error: not a combined log line
error: not a combined log line
error: combined log: bad timestamp '24/Nov/2026:25:00:00 +0000'
error: combined log: bad timestamp '2026-11-24T02:00:00Z'
error: combined log: bad status '2x0'
error: combined log: bad byte count 'many'
error: combined log: unterminated request
error: combined log: unterminated user agent
error: combined log: no byte count after the status
EOF
}

@test "combined and syslog: a trailing CR is ignored, also in the id" {
	printf '1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"\r\n' >in.log
	run -0 bash -c '"$LOGFORMAT" combined <in.log | jq -c "[.fields.agent, .id]"'
	assert_output "[\"x\",\"$(printf '%s' '1.2.3.4 - - [24/Nov/2026:02:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"' | sha256sum | cut -c1-16)\"]"
	printf '<13>Nov 24 02:00:00 h a: m\r\n' >in.log
	run -0 bash -c '"$LOGFORMAT" syslog "$1" <in.log | jq -c "[.message, .id]"' _ "$NOW"
	assert_output "[\"m\",\"$(printf '%s' '<13>Nov 24 02:00:00 h a: m' | sha256sum | cut -c1-16)\"]"
}

# One webhook payload: a firing alert with a fingerprint, a resolved one without.
payload() {
	cat <<'EOF'
{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","status":"firing","receiver":"sb","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am.example:9093","alerts":[{"status":"firing","labels":{"alertname":"HighLatency","severity":"critical","service":"checkout","job":"api","tenant":"acme"},"annotations":{"summary":"p95 above 2s"},"startsAt":"2026-11-24T02:00:00.123456789+01:00","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom.example:9090/graph","fingerprint":"a1b2c3d4e5f60718"},{"status":"resolved","labels":{"alertname":"DiskFull","instance":"db1:9100","job":"node","tenant_id":"t-9"},"annotations":{},"startsAt":"2026-11-24T01:00:00Z","endsAt":"2026-11-24T01:30:00Z"}]}
EOF
}

@test "alertmanager: one event per alert, firing and resolved" {
	payload >in.ndjson
	run -0 "$LOGFORMAT" alertmanager <in.ndjson
	assert_output - <<'EOF'
{"type":"event","ts":"2026-11-24T01:00:00.123457Z","event":"alarm","name":"HighLatency","state":"ALARM","previous":"OK","severity":"critical","component":"checkout","tenant":"acme","source":"alertmanager","detail":{"labels":{"alertname":"HighLatency","severity":"critical","service":"checkout","job":"api","tenant":"acme"},"annotations":{"summary":"p95 above 2s"},"startsAt":"2026-11-24T02:00:00.123456789+01:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"a1b2c3d4e5f60718","generatorURL":"http://prom.example:9090/graph"},"id":"2b25bae5b62908f0"}
{"type":"event","ts":"2026-11-24T01:30:00Z","event":"alarm","name":"DiskFull","state":"OK","previous":"ALARM","component":"node","tenant":"t-9","source":"alertmanager","detail":{"labels":{"alertname":"DiskFull","instance":"db1:9100","job":"node","tenant_id":"t-9"},"annotations":{},"startsAt":"2026-11-24T01:00:00Z","endsAt":"2026-11-24T01:30:00Z"},"id":"3f2d72805c013e30"}
EOF
}

@test "alertmanager: ids are SHA-256 prefixes of fingerprint (or labels), status and startsAt, equal when fed twice" {
	payload >in.ndjson
	payload >>in.ndjson
	run -0 bash -c '"$LOGFORMAT" alertmanager <in.ndjson | jq -r .id'
	first=$(printf 'a1b2c3d4e5f60718\0firing\0002026-11-24T02:00:00.123456789+01:00\0' | sha256sum | cut -c1-16)
	second=$(printf '{"alertname":"DiskFull","instance":"db1:9100","job":"node","tenant_id":"t-9"}\0resolved\0002026-11-24T01:00:00Z\0' | sha256sum | cut -c1-16)
	assert_output - <<EOF
$first
$second
$first
$second
EOF
	# The same alert's resolution is another transition: another id.
	printf '{"alerts":[{"status":"resolved","labels":{"alertname":"HighLatency"},"startsAt":"2026-11-24T02:00:00.123456789+01:00","endsAt":"2026-11-24T03:00:00Z","fingerprint":"a1b2c3d4e5f60718"}]}\n' >in.ndjson
	run -0 bash -c '"$LOGFORMAT" alertmanager <in.ndjson | jq -r .id'
	refute_output "$first"
	assert_output "$(printf 'a1b2c3d4e5f60718\0resolved\0002026-11-24T02:00:00.123456789+01:00\0' | sha256sum | cut -c1-16)"
}

@test "alertmanager: the payload's status stands in for an alert's; an empty alerts array gives nothing" {
	run -0 "$LOGFORMAT" alertmanager <<'EOF'
{"status":"resolved","alerts":[{"labels":{"alertname":"X"},"startsAt":"2026-11-24T02:00:00Z","endsAt":"2026-11-24T03:00:00Z"}]}
{"version":"4","status":"firing","alerts":[]}
EOF
	assert_output '{"type":"event","ts":"2026-11-24T03:00:00Z","event":"alarm","name":"X","state":"OK","previous":"ALARM","source":"alertmanager","detail":{"labels":{"alertname":"X"},"startsAt":"2026-11-24T02:00:00Z","endsAt":"2026-11-24T03:00:00Z"},"id":"dd2a9966c391ea88"}'
}

@test "alertmanager: malformed payloads" {
	run -0 "$LOGFORMAT" alertmanager <<'EOF'
not json
[1,2]
{"version":"4","status":"firing"}
{"alerts":{"a":1}}
{"alerts":[3]}
{"alerts":[{"labels":{"severity":"warning"},"status":"firing","startsAt":"2026-11-24T02:00:00Z"}]}
{"alerts":[{"labels":{"alertname":"X"},"status":"firing","startsAt":"2026-11-24T02:00:00Z"},{"status":"firing"}]}
{"alerts":[{"labels":{"alertname":"X"},"status":"pending","startsAt":"2026-11-24T02:00:00Z"}]}
{"alerts":[{"labels":{"alertname":"X"},"status":"firing","startsAt":"yesterday"}]}
{"alerts":[{"labels":{"alertname":"X"},"status":"resolved","startsAt":"2026-11-24T02:00:00Z"}]}
EOF
	assert_output - <<'EOF'
error: alertmanager payload is not JSON
error: alertmanager payload is not a JSON object
error: alertmanager payload has no "alerts" array
error: alertmanager payload has no "alerts" array
error: alertmanager payload: alerts[0] is not an object
error: alertmanager payload: alerts[0] has no alertname label
error: alertmanager payload: alerts[1] has no alertname label
error: alertmanager payload: alerts[0] has status 'pending', not firing or resolved
error: alertmanager payload: alerts[0] has a bad startsAt 'yesterday'
error: alertmanager payload: alerts[0] has no endsAt
EOF
}

@test "levels: names and aliases in any case" {
	run -0 "$LOGFORMAT" level <<'EOF'
debug
TRACE
Info
Notice
Informational
warn
WARNING
Error
err
fatal
CRIT
critical
Alert
emerg
EMERGENCY
panic
verbose

EOF
	assert_output - <<'EOF'
DEBUG
DEBUG
INFO
INFO
INFO
WARN
WARN
ERROR
ERROR
FATAL
FATAL
FATAL
FATAL
FATAL
FATAL
FATAL
error: unknown level
error: unknown level
EOF
}

@test "json: each ts form, level aliases, stack, kept and moved fields" {
	run -0 "$LOGFORMAT" json <<'EOF'
{"ts":"2026-11-24T02:00:00Z","level":"error","msg":"payment failed","component":"checkout","tenant":"acme","order":42,"stack":"Traceback (most recent call last):\n  File \"pay.py\""}
{"time":"2026-11-24T03:00:00+02:00","severity":"Warning","message":"slow query","duration_ms":812.5}
{"timestamp":1764043200,"lvl":"crit","message":"disk gone","source":"node-7"}
{"@timestamp":1764043200123,"loglevel":"trace","message":"tick"}
{"ts":"1764043200500","message":"epoch milliseconds as text"}
{"ts":1764043200.25,"level":30,"msg":"pino's numeric level","pid":7,"hostname":"h"}
{"ts":"2026-11-24T02:00:00Z","message":"nested","fields":{"a":1},"b":2,"stack_trace":["not","a string"],"exception":"E: boom","tenant":7}
EOF
	assert_output - <<'EOF'
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"ERROR","message":"payment failed","stack":"Traceback (most recent call last):\n  File \"pay.py\"","component":"checkout","tenant":"acme","fields":{"order":42},"id":"e4212c512f3fd25e"}
{"type":"log","ts":"2026-11-24T01:00:00Z","level":"WARN","message":"slow query","fields":{"duration_ms":812.5},"id":"b56703b15ce97110"}
{"type":"log","ts":"2025-11-25T04:00:00Z","level":"FATAL","message":"disk gone","source":"node-7","fields":{},"id":"dda089c41cd0045d"}
{"type":"log","ts":"2025-11-25T04:00:00.123Z","level":"DEBUG","message":"tick","fields":{},"id":"8c9c22cc959b8339"}
{"type":"log","ts":"2025-11-25T04:00:00.5Z","level":"INFO","message":"epoch milliseconds as text","fields":{},"id":"0c83182ffc5b5abd"}
{"type":"log","ts":"2025-11-25T04:00:00.25Z","level":"INFO","message":"pino's numeric level","fields":{"pid":7,"hostname":"h"},"id":"e63d532354b6e09d"}
{"type":"log","ts":"2026-11-24T02:00:00Z","level":"INFO","message":"nested","stack":"E: boom","fields":{"a":1,"b":2,"stack_trace":["not","a string"],"tenant":7},"id":"bb7fb2a1082cacaa"}
EOF
}

@test "json: the id is a SHA-256 prefix of the object's compact JSON" {
	line='{"ts": "2026-11-24T02:00:00Z",  "msg": "spaced out"}'
	run -0 bash -c '"$LOGFORMAT" json <<<"$1" | jq -r .id' _ "$line"
	assert_output "$(printf '%s' '{"ts":"2026-11-24T02:00:00Z","msg":"spaced out"}' | sha256sum | cut -c1-16)"
}

@test "json: missing message, unknown level, bad or missing time, not an object" {
	run -0 "$LOGFORMAT" json <<'EOF'
{"ts":"2026-11-24T02:00:00Z","level":"info"}
{"ts":"2026-11-24T02:00:00Z","message":{"text":"x"}}
{"ts":"2026-11-24T02:00:00Z","msg":null}
{"ts":"2026-11-24T02:00:00Z","level":"verbose","message":"x"}
{"ts":"2026-11-24T02:00:00Z","level":45,"message":"x"}
{"ts":"2026-11-24T02:00:00Z","level":["x"],"message":"x"}
{"message":"no time"}
{"ts":"yesterday","message":"x"}
{"time":true,"message":"x"}
[1]
"text"
{broken
EOF
	assert_output - <<'EOF'
error: no message or msg field
error: message is not a string
error: msg is not a string
error: unknown level 'verbose'
error: unknown level '45'
error: unknown level '["x"]'
error: no ts, time, timestamp or @timestamp field
error: bad ts 'yesterday'
error: bad time 'true'
error: not a JSON object
error: not a JSON object
error: not JSON
EOF
}

@test "unknown formats are refused" {
	run -2 "$LOGFORMAT" nginx </dev/null
	assert_output --partial "unknown format 'nginx'"
}
