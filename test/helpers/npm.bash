# npm_install_once DIR WHAT VAR FILE...: install the npm packages that
# DIR/package.json pins into DIR/node_modules (never committed), once: the
# first test file takes a lock on DIR, the others wait and find them there;
# FILE... (paths under node_modules) must exist afterwards. A failed install
# is not tried again by the later files of the same run. Without node or
# npm, or when npm fails, the reason (starting with WHAT) is kept in VAR, and
# a test calling this skips with it (in setup_file, where bats 1.8 cannot
# skip, the file's tests check VAR).
npm_install_once() {
	local dir=$1 what=$2 var=$3 lock log status=0 reason failed
	shift 3
	unset "$var"
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		_npm_skip "$var" "$what: node and npm are needed (scripts/ensure-deps installs them)"
		return 0
	fi
	_npm_installed "$dir" "$@" && return 0
	exec {lock}<"$dir"
	if ! flock -w 600 "$lock"; then
		exec {lock}<&-
		_npm_skip "$var" "$what: timed out waiting for another npm install"
		return 0
	fi
	failed="${BATS_RUN_TMPDIR:-/nonexistent}/$(basename "$dir")-install-failed"
	if [ -f "$failed" ]; then
		exec {lock}<&-
		_npm_skip "$var" "$(cat "$failed")"
		return 0
	fi
	if ! _npm_installed "$dir" "$@"; then
		log=$(mktemp) || { exec {lock}<&-; return 1; }
		timeout 600 npm install --no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=2000 \
			--fetch-retry-maxtimeout=10000 --prefix "$dir" >"$log" 2>&1 </dev/null 3>&- || status=$?
		if [ "$status" -eq 0 ]; then
			cp "$dir/package.json" "$dir/node_modules/.sb-installed"
		else
			reason="$what: npm install failed (status $status): $(grep -m1 -i 'err' "$log" || tail -1 "$log")"
			[ -d "${BATS_RUN_TMPDIR:-}" ] && echo "$reason" >"$failed"
		fi
		rm -f "$log"
	fi
	exec {lock}<&-
	[ -z "$reason" ] || _npm_skip "$var" "$reason"
	return 0
}

# _npm_installed DIR FILE...: node_modules holds FILE... and matches package.json
_npm_installed() {
	local dir=$1 f
	shift
	for f in "$@"; do
		[ -f "$dir/node_modules/$f" ] || return 1
	done
	cmp -s "$dir/package.json" "$dir/node_modules/.sb-installed"
}

# _npm_skip VAR REASON: skip the test, or keep REASON in VAR in setup_file
_npm_skip() {
	if [ -n "${BATS_TEST_NAME:-}" ]; then
		skip "$2"
	fi
	export "$1=$2"
}
