#!/usr/bin/env bats
#
# The documentation against the code: every tool of cmd/ has a man page
# that groff accepts without a warning and whose OPTIONS name every long
# option of its --help; sb-config(5) names every configuration key of the
# option tables and of the code's sb_config_get calls, and every
# environment variable the code reads; sb(7) and the README name every
# tool.  The keys and variables are read from the sources, so a new option
# with a key or a variable fails here until it is documented.

setup() {
	load test_helper/common
	MAN=$SB_ROOT/man
	CONFIG_PAGE=$MAN/sb-config.5
}

# tools: print the tools of cmd/, one a line.
tools() {
	local src
	for src in "$SB_ROOT"/cmd/sb-*.c; do
		src=${src##*/}
		echo "${src%.c}"
	done
}

# long_options TOOL: print the long options in TOOL's --help, one a line.
long_options() {
	local help
	help=$("$SB_ROOT/bin/$1" --help) || return
	grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u
}

# section FILE NAME: print the section .SH NAME of the man page FILE, up
# to the next .SH.
section() {
	awk -v name="$2" '
		/^\.SH / { on = ($0 == ".SH " name || $0 == ".SH \"" name "\"") }
		on
	' "$1"
}

# names_option TEXT OPTION: true when the troff TEXT names OPTION
# (--max-files), written with escaped or plain hyphens, and not as the
# start of a longer option (--max of --max-files).
names_option() {
	OPTION=$2 perl -0777 -ne '
		my $o = join "\\\\?-", map { quotemeta } split /-/, $ENV{OPTION}, -1;
		exit(/$o(?![a-z0-9]|\\?-[a-z0-9])/ ? 0 : 1);
	' <<<"$1"
}

# config_keys: print every configuration key the code reads, one a line:
# the key column of each option table (cmd/*.c and the common options of
# lib/opts.c, macros such as SB_RUNNER_OPTIONS("deploy") expanded by the
# preprocessor), and the literal paths of sb_config_get calls in cmd/ and
# lib/.
config_keys() {
	local src
	for src in "$SB_ROOT"/cmd/sb-*.c "$SB_ROOT"/lib/opts.c; do
		${CC:-cc} -E -P -D_GNU_SOURCE -I"$SB_ROOT/lib" "$src" || return
	done | perl -0777 -ne '
		# Each option table: its rows, then the seventh field of each.
		while (/struct\s+sb_option\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n?\s*\}\s*;/sg) {
			my $table = $1;
			while ($table =~ /\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}/g) {
				my @fields = ($1 =~ /\G\s*((?:"(?:[^"\\]|\\.)*"\s*)+|[^,"]+)(?:,|$)/g);
				next unless @fields >= 7;
				my $key = $fields[6];
				next if $key =~ /^\s*(NULL|\(\(void\s*\*\)\s*0\)|0)\s*$/;
				$key = join "", ($key =~ /"((?:[^"\\]|\\.)*)"/g);
				print "$key\n" if length $key;
			}
		}
	' || return
	perl -0777 -ne 'print "$1\n" while /sb_config_get\s*\([^;"]*"([^"]+)"/g' \
		"$SB_ROOT"/cmd/*.c "$SB_ROOT"/lib/*.c
}

# env_vars: print every environment variable the code reads or sets, one a
# line: the SB_* and AWS_* names in string literals of cmd/ and lib/ (the
# env column of the option tables, getenv and setenv calls) and the names
# of every getenv call.
env_vars() {
	perl -0777 -ne '
		print "$1\n" while /"((?:SB|AWS)_[A-Z0-9_]+)"/g;
		print "$1\n" while /getenv\s*\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)/g;
	' "$SB_ROOT"/cmd/*.c "$SB_ROOT"/lib/*.c
}

@test "docs: every tool has a man page; groff accepts every page without a warning" {
	local tool page errors=() out
	[[ -n $(tools) ]] || fail "no tools in cmd/"
	while read -r tool; do
		[[ -f $MAN/$tool.1 ]] || errors+=("$tool: no man page man/$tool.1")
	done < <(tools)
	for page in "$MAN"/*.[157]; do
		out=$(groff -ww -z -man "$page" 2>&1) || errors+=("${page##*/}: groff failed")
		[[ -z $out ]] || errors+=("${page##*/}: $out")
	done
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}

@test "docs: the OPTIONS of each man page name every long option of the tool's --help" {
	local tool options option text errors=()
	while read -r tool; do
		[[ -x $SB_ROOT/bin/$tool ]] || { errors+=("$tool: not built: run make first"); continue; }
		[[ -f $MAN/$tool.1 ]] || { errors+=("$tool: no man page"); continue; }
		text=$(section "$MAN/$tool.1" OPTIONS)
		[[ -n $text ]] || { errors+=("$tool: man/$tool.1 has no OPTIONS section"); continue; }
		if ! options=$(long_options "$tool") || [[ -z $options ]]; then
			errors+=("$tool: --help failed or shows no long option")
			continue
		fi
		for option in $options; do
			names_option "$text" "$option" ||
				errors+=("$tool: $option missing from the OPTIONS of man/$tool.1")
		done
	done < <(tools)
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}

@test "docs: sb-config(5) names every configuration key the code reads" {
	local keys key errors=()
	[[ -f $CONFIG_PAGE ]] || fail "no man/sb-config.5"
	keys=$(config_keys | sort -u) || fail "cannot read the option tables"
	# The tables hold keys: the extraction works.
	grep -qx 'deploy.monitor' <<<"$keys" || fail "no deploy.monitor among the keys found: $keys"
	grep -qx 'rollback.lock_timeout' <<<"$keys" || fail "macro rows not expanded: $keys"
	grep -qx 'state_dir' <<<"$keys" || fail "common options not read: $keys"
	grep -qx 'analyze.min_change' <<<"$keys" || fail "a row whose help has a comma misread: $keys"
	for key in $keys; do
		KEY=$key perl -0777 -ne 'exit(/(?<![a-z0-9_.])\Q$ENV{KEY}\E(?![a-z0-9_])/ ? 0 : 1)' "$CONFIG_PAGE" ||
			errors+=("configuration key $key missing from man/sb-config.5")
	done
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}

@test "docs: sb-config(5) names every environment variable the code reads" {
	local vars var errors=()
	[[ -f $CONFIG_PAGE ]] || fail "no man/sb-config.5"
	vars=$(env_vars | sort -u)
	grep -qx 'SB_NOW' <<<"$vars" || fail "no SB_NOW among the variables found: $vars"
	for var in $vars; do
		grep -qE "(^|[^A-Z0-9_])${var}([^A-Z0-9_]|\$)" "$CONFIG_PAGE" ||
			errors+=("environment variable $var missing from man/sb-config.5")
	done
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}

@test "docs: sb(7) and the README name every tool, and sb(7) refers to sb-config(5)" {
	local tool errors=()
	while read -r tool; do
		grep -qF ".BR ${tool//-/\\-} (1)" "$MAN/sb.7" ||
			errors+=("$tool: missing from the tools of man/sb.7")
		grep -qE "(^|[^a-z-])$tool([^a-z-]|\$)" "$SB_ROOT/README.md" ||
			errors+=("$tool: missing from README.md")
	done < <(tools)
	grep -qF '.BR sb\-config (5)' "$MAN/sb.7" || errors+=("man/sb.7 does not refer to sb-config(5)")
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}
