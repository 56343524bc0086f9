# A sample component the tests deploy to: a copy of test/fixtures/components/shop
# in $PWD/shop, reload and health scripts the test controls through files in
# $PWD/ctl, a configuration in $PWD/c.json and a state directory in $PWD/state.
#
#   touch ctl/unhealthy      the health command fails
#   touch ctl/reload-fails   the reload command fails
#   echo 0.3 >ctl/health-sleep   the health command takes that long
#   ctl/reloads, ctl/health  one line per run of each command

deploy_setup() {
	cp -r "$FIXTURES/components/shop" shop
	chmod 0640 shop/config.json
	mkdir -p ctl
	cat >ctl/reload.sh <<'EOF'
#!/bin/sh
echo "reload $SB_DEPLOYMENT" >>"$CTL/reloads"
[ ! -e "$CTL/reload-fails" ]
EOF
	cat >ctl/health.sh <<'EOF'
#!/bin/sh
echo "in $$" >>"$CTL/health"
[ -f "$CTL/health-sleep" ] && sleep "$(cat "$CTL/health-sleep")"
echo "out $$" >>"$CTL/health"
if [ -e "$CTL/unhealthy" ]; then echo "503 from /health"; exit 1; fi
echo ok
EOF
	chmod +x ctl/reload.sh ctl/health.sh
	export CTL=$PWD/ctl
	deploy_config '{}'
	export SB_CONFIG=$PWD/c.json SB_STATE_DIR=$PWD/state TZ=UTC
}

# deploy_config JSON: c.json with the shop component, its commands, and JSON merged over it
deploy_config() {
	jq -n --arg p "$PWD/shop" --arg ctl "$PWD/ctl" --argjson extra "$1" '{
		components: {shop: {path: $p, language: "python",
			reload: [($ctl + "/reload.sh")], health: [($ctl + "/health.sh")],
			metrics: {latency_p95_ms: "lower"}}},
		features: {autonomous_improvements: false, improvement_rollback: true},
		deploy: {health_interval: 0}, rollback: {health_interval: 0}
	} * $extra' >c.json
}

# sha PATH: the hex SHA-256 of a file
sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# change_json ID FILE-JSON...: an unvalidated change record for shop
change_json() {
	local id=$1 IFS=,
	shift
	printf '{"type":"change","id":"%s","component":"shop","provider":"rules","model":"t","files":[%s]}\n' "$id" "$*"
}

# modify PATH CONTENT / create PATH CONTENT / delete PATH: file entries against the current shop
modify() {
	jq -cn --arg p "$1" --arg c "$2" --arg b "$(sha "shop/$1")" '{path: $p, action: "modify", content: $c, base_sha256: $b}'
}

create() {
	jq -cn --arg p "$1" --arg c "$2" '{path: $p, action: "create", content: $c}'
}

delete() {
	jq -cn --arg p "$1" --arg b "$(sha "shop/$1")" '{path: $p, action: "delete", base_sha256: $b}'
}

# validated ID FILE-JSON...: the change, stamped by sb-validate (which must pass it)
validated() {
	change_json "$@" | sb-validate --only-valid
}

# tree_sum DIR: every file's mode, size and path, then every file's hash, then every directory (mtimes left out)
tree_sum() {
	(cd "$1" && find . -type f -printf '%m %s %p\n' | sort -k3 &&
		find . -type f -exec sha256sum {} + | sort -k2 && find . -type d | sort)
}

# the standard change of these tests: config.json modified, a file created in a new directory, OVERVIEW.md deleted
standard_change() {
	validated "${1:-c1}" "$(modify config.json "$(jq -c '.db.pool_size = 40' shop/config.json)")" \
		"$(create lib/extra/helper.py $'def helper():\n    return 1\n')" "$(delete OVERVIEW.md)"
}

# pool_errors [COMPONENT] [AGE-SECONDS]: 60 connection-pool errors of a component (default shop),
# tenant acme, one every 40 s, the last AGE seconds (default 0) before $NOW (default now)
pool_errors() {
	local comp=${1:-shop} age=${2:-0} now=${NOW:-$(date -u +%s)} i
	for i in $(seq 60); do
		printf '{"type":"log","ts":%d,"level":"ERROR","message":"could not get a database connection from the pool (waited %d ms)","component":"%s","tenant":"acme"}\n' \
			$((now - age - 3000 + i * 40)) $((5000 + i)) "$comp"
	done
}
