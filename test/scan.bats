#!/usr/bin/env bats
# lib/scan: security rules, tenant isolation, quality metrics and Python
# imports of a file's text, through the small driver test/scan.c.

setup_file() {
	load helpers/driver
	build_driver SCAN test/scan.c
}

setup() {
	load test_helper/common
	S="$FIXTURES/scan"
}

# "RULE LINE" for each finding of a scan.
rules() {
	"$SCAN" "$@" | jq -r '"\(.rule) \(.line)"'
}

@test "security: eval and exec as functions, new Function; not methods or comments" {
	run -0 rules security "$S/eval.py"
	assert_output $'eval 4\neval 6'
	run -0 rules security "$S/eval.js"
	assert_output $'eval 2\neval 3'
}

@test "security: shell: os.system, shell=True on a call's later line, os.popen, system(), child_process exec" {
	run -0 rules security "$S/shell.py"
	assert_output $'shell 3\nshell 5\nshell 6'
	run -0 rules security "$S/shell.c"
	assert_output 'shell 5'
	run -0 rules security "$S/shell.js"
	assert_output $'shell 3\nshell 4'
}

@test "security: deserialization: pickle, yaml.load without SafeLoader, marshal" {
	run -0 "$SCAN" security "$S/deserialization.py"
	assert_output - <<'OUT'
{"rule":"deserialization","line":4,"message":"pickle load can run code from its input"}
{"rule":"deserialization","line":6,"message":"yaml.load without SafeLoader (use yaml.safe_load)"}
{"rule":"deserialization","line":8,"message":"marshal load of untrusted data"}
OUT
}

@test "security: tls in Python, JavaScript, shell and C" {
	run -0 rules security "$S/tls.py"
	assert_output $'tls 3\ntls 4\ntls 5'
	run -0 rules security "$S/tls.js"
	assert_output $'tls 2\ntls 3'
	run -0 rules security "$S/tls.sh"
	assert_output $'tls 3\ntls 4'
	run -0 rules security "$S/tls.c"
	assert_output 'tls 5'
}

@test "security: sql built by f-string, %, +, .format and template literal; placeholders are fine" {
	run -0 rules security "$S/sql.py"
	assert_output $'sql 2\nsql 3\nsql 4\nsql 5'
	run -0 rules security "$S/sql.js"
	assert_output $'sql 1\nsql 3'
}

@test "security: permissions: chmod 777 and o+w, umask 0, os.chmod 0o666, os.umask(0)" {
	run -0 rules security "$S/permissions.sh"
	assert_output $'permissions 3\npermissions 4\npermissions 5'
	run -0 rules security "$S/permissions.py"
	assert_output $'permissions 3\npermissions 4'
}

@test "security: pipe-to-shell, with and without sudo" {
	run -0 rules security "$S/pipe.sh"
	assert_output $'pipe-to-shell 3\npipe-to-shell 4'
}

@test "security: secrets of each kind, in a comment too, named but never printed" {
	# Built here rather than stored, so no token-shaped string sits in the tree.
	{
		printf 'aws = "%s%s"\n' AKIA ABCDEFGHIJKLMNOP
		printf '%s\n' '-----BEGIN RSA PRIVATE KEY-----' 'MIIB' '-----END RSA PRIVATE KEY-----'
		printf '# token %s%s\n' ghp_ 0123456789abcdefghijABCDEFGHIJ012345
		printf 'slack = "%s%s"\n' xoxb- 1234567890-abcdefghij
		printf 'openai = "%s%s"\n' sk- abcdefghijklmnopqrstuvwx
		printf 'google = "%s%s"\n' AIza Sy0123456789abcdefghijklmnopqrstuvw
		printf 'jwt = "%s.%s.sig"\n' eyJhbGciOiJIUzI1NiJ9 eyJzdWIiOiIxMjM0NTY3ODkwIn0
		printf 'fine = "AKIA-not-a-key sk-short"\n'
	} >secrets.py
	run -0 "$SCAN" security secrets.py
	assert_output - <<'OUT'
{"rule":"secret","line":1,"message":"AWS access key id"}
{"rule":"secret","line":2,"message":"private key block"}
{"rule":"secret","line":5,"message":"GitHub token"}
{"rule":"secret","line":6,"message":"Slack token"}
{"rule":"secret","line":7,"message":"OpenAI-style secret key"}
{"rule":"secret","line":8,"message":"Google API key"}
{"rule":"secret","line":9,"message":"JSON Web Token"}
OUT
}

@test "security: clean counterparts give no finding" {
	for f in clean.py clean.js clean.sh clean.c tenant_clean.py quality.py imports.py; do
		run -0 "$SCAN" security "$S/$f"
		assert_output ''
	done
}

@test "tenant: unscoped SQL, another tenant's id and a literal tenant in a URL (Python)" {
	run -0 "$SCAN" tenant "$S/tenant.py" tables=orders,invoices others=globex,initech
	assert_output - <<'OUT'
{"rule":"tenant-sql","line":7,"message":"SQL on table 'orders' does not filter by tenant_id"}
{"rule":"tenant-sql","line":10,"message":"SQL on table 'invoices' does not filter by tenant_id"}
{"rule":"tenant-literal","line":14,"message":"id of another tenant 'globex'"}
{"rule":"tenant-api","line":16,"message":"HTTP call with a literal tenant in its URL: /tenants/acme"}
OUT
}

@test "tenant: .sql statements split at ';', schema-qualified tables, -- comments" {
	run -0 rules tenant "$S/tenant.sql" tables=orders,invoices
	assert_output 'tenant-sql 3'
}

@test "tenant: JavaScript: template placeholders are fine, ids are whole words with '-'" {
	run -0 rules tenant "$S/tenant.js" tables=orders others=globex-eu,globex
	assert_output $'tenant-literal 2\ntenant-api 2'
}

@test "tenant: a scoped change gives nothing; no tables and no tenants check only the API" {
	run -0 "$SCAN" tenant "$S/tenant_clean.py" tables=orders,countries_x others=globex
	assert_output ''
	run -0 rules tenant "$S/tenant.py"
	assert_output 'tenant-api 16'
}

@test "quality: Python, C, JavaScript and shell functions" {
	run -0 "$SCAN" quality "$S/quality.py"
	assert_output '{"longest_function":21,"longest_line":29,"longest_name":"longest","max_complexity":9,"complex_line":8,"complex_name":"branchy"}'
	run -0 "$SCAN" quality "$S/quality.c"
	assert_output '{"longest_function":25,"longest_line":9,"longest_name":"classify","max_complexity":9,"complex_line":9,"complex_name":"classify"}'
	run -0 "$SCAN" quality "$S/quality.js"
	assert_output '{"longest_function":10,"longest_line":5,"longest_name":"pick","max_complexity":4,"complex_line":5,"complex_name":"pick"}'
	run -0 "$SCAN" quality "$S/quality.sh"
	assert_output '{"longest_function":14,"longest_line":6,"longest_name":"main","max_complexity":7,"complex_line":6,"complex_name":"main"}'
}

@test "quality: a file without functions, and JSON" {
	printf 'x = 1\n' >a.py
	printf '{"a": 1}\n' >a.json
	for f in a.py a.json; do
		run -0 "$SCAN" quality "$f"
		assert_output '{"longest_function":0,"longest_line":0,"longest_name":null,"max_complexity":0,"complex_line":0,"complex_name":null}'
	done
}

@test "imports: top-level modules, not relative imports, strings or comments" {
	run -0 bash -c '"$SCAN" imports "$1" | jq -r "\"\(.module) \(.line)\""' _ "$S/imports.py"
	assert_output - <<'OUT'
os 2
os 3
sys 3
collections 4
yaml 7
json 8
re 8
requests 10
OUT
}
