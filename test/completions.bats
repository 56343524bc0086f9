#!/usr/bin/env bats
#
# Shell completions: the bash, zsh and fish files name every tool and every
# long option its --help shows, and the bash and fish completions complete.

setup() {
	bats_require_minimum_version 1.5.0
	bats_load_library bats-support
	bats_load_library bats-assert
	ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	BASH_FILE=completions/bash/sb
	ZSH_FILE=completions/zsh/_sb
	FISH_DIR=completions/fish
	# Not a tool: the options all tools share, which each tool's file sources.
	FISH_COMMON=sb-common.fish
	BASH_COMPLETION=/usr/share/bash-completion/bash_completion
}

# tools: print the tools built in bin/, one a line.
tools() {
	local bin
	for bin in "$BATS_TEST_DIRNAME"/../bin/sb-*; do
		[[ -x $bin && ${bin##*/} != sb-unit-tests ]] && echo "${bin##*/}"
	done
}

# long_options TOOL: print the long options in TOOL's --help, one a line.
long_options() {
	local help
	help=$("$ROOT/bin/$1" --help) || return
	grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u
}

# check_file FILE TOOL-PATTERN OPTION-PATTERN [COMMON]: check that FILE
# (relative to the top directory) has TOOL-PATTERN for every tool, with `@'
# standing for the tool's name, and OPTION-PATTERN for every long option of
# its --help, with `@' standing for the option's name without its dashes
# (extended regular expressions).  A FILE with `@' in it is one file for
# each tool.  An option also counts as there when it is in the file COMMON.
check_file() {
	local tool option options file errors=() ntools=0
	while read -r tool; do
		((ntools++)) || true
		file=${1//@/$tool}
		if [[ ! -f $ROOT/$file ]]; then
			errors+=("$tool: no completion file $file")
			continue
		fi
		grep -qE -- "${2//@/$tool}" "$ROOT/$file" ||
			errors+=("$tool: tool name missing from $file")
		if ! options=$(long_options "$tool") || [[ -z $options ]]; then
			errors+=("$tool: --help failed or shows no long option")
			continue
		fi
		for option in $options; do
			grep -qE -- "${3//@/${option#--}}" "$ROOT/$file" ${4:+"$ROOT/$4"} ||
				errors+=("$tool: option $option missing from $file${4:+ and $4}")
		done
	done < <(tools)
	((ntools > 0)) || fail "no tools in bin/: run make first"
	((${#errors[@]} == 0)) || fail "$(printf '%s\n' "${errors[@]}")"
}

# fish_tools: print the tools that have a file in completions/fish, one a line.
fish_tools() {
	local file
	for file in "$ROOT/$FISH_DIR"/*.fish; do
		file=${file##*/}
		[[ $file != "$FISH_COMMON" ]] && echo "${file%.fish}"
	done
}

# complete_fish LINE: run the fish completion for LINE, typed up to its end,
# in a fresh fish with no user configuration, which finds the files of
# completions/fish as it finds them installed in vendor_completions.d:
# through fish_complete_path, by the command's name.  Fish loads the file
# only for a command it can run, so a stand-in for the command is put first
# in PATH.  The output is the candidates, one a line, each with a tab and its
# description; $stderr is fish's errors.
complete_fish() {
	local tool=${1%% *} tmp=$BATS_TEST_TMPDIR/fish
	mkdir -p "$tmp/bin" "$tmp/home"
	printf '#!/bin/sh\n' >"$tmp/bin/$tool"
	chmod +x "$tmp/bin/$tool"
	run --separate-stderr env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_DATA_HOME="$tmp/home/.local/share" PATH="$tmp/bin:$PATH" \
		fish -c 'set -p fish_complete_path $argv[1]; complete -C $argv[2]' \
		"$ROOT/$FISH_DIR" "$1" </dev/null
}

# complete_bash LINE: run the bash completion for LINE, typed up to its
# end, in a fresh bash with nothing else loaded; the output is COMPREPLY,
# one a line.  LINE is split as bash splits it: `--risk=l' is `--risk',
# `=' and `l'.
complete_bash() {
	run env -u BASH_ENV bash --norc --noprofile -c '
		set -f
		source "$1" || exit
		line=$2 words=()
		for w in $line; do
			while [[ $w == *=* ]]; do
				[[ -n ${w%%=*} ]] && words+=("${w%%=*}")
				words+=("=")
				w=${w#*=}
			done
			[[ -n $w ]] && words+=("$w")
		done
		[[ $line == *" " ]] && words+=("")
		spec=$(complete -p "${words[0]}") || exit
		fn=${spec##*-F } fn=${fn%% *}
		COMP_WORDS=("${words[@]}") COMP_CWORD=$((${#words[@]} - 1))
		COMP_LINE=$line COMP_POINT=${#line}
		"$fn" "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete_bash "$ROOT/$BASH_FILE" "$1"
}

@test "completions: bash names every tool and its long options" {
	check_file "$BASH_FILE" '^[^#]*[[:space:]]@([[:space:]]|$)' '--@([^a-z-]|$)'
}

@test "completions: zsh names every tool and its long options" {
	check_file "$ZSH_FILE" '^#compdef( .*)? @( |$)' '--@([^a-z-]|$)'
}

@test "completions: fish names every tool and its long options" {
	check_file "$FISH_DIR/@.fish" '^[^#]*[[:space:]]@([[:space:]]|$)' \
		'(-l|--long-option)[[:space:]=]+@([^a-z-]|$)' "$FISH_DIR/$FISH_COMMON"
}

@test "completions: bash registers a function for every tool" {
	local tool
	while read -r tool; do
		run env -u BASH_ENV bash --norc --noprofile -c \
			'source "$1" && complete -p "$2"' sh "$ROOT/$BASH_FILE" "$tool"
		assert_success
		assert_output --regexp "^complete -F [^ ]+ $tool\$"
	done < <(tools)
}

@test "completions: bash completes a long option" {
	complete_bash "sb-score --ri"
	assert_success
	assert_output -- "--risk"
}

@test "completions: bash completes the short and long options after -" {
	complete_bash "sb-score -"
	assert_success
	assert_line -- "-h"
	assert_line -- "--help"
	assert_line -- "--on-error"
	assert_line -- "--users-default"
}

@test "completions: bash completes the values of --risk" {
	complete_bash "sb-score --risk "
	assert_success
	assert_output $'low\nmedium\nhigh'
	complete_bash "sb-score --risk=m"
	assert_success
	assert_output "medium"
	complete_bash "sb-score --max 3 --risk h"
	assert_success
	assert_output "high"
}

@test "completions: bash completes the modes of --on-error" {
	complete_bash "sb-score --on-error "
	assert_success
	assert_output $'warn\nfail\nquarantine='
	complete_bash "sb-score --on-error=f"
	assert_success
	assert_output "fail"
}

@test "completions: bash completes files and directories" {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p state
	touch bad.ndjson
	complete_bash "sb-score --on-error=quarantine=ba"
	assert_success
	assert_output "bad.ndjson"
	complete_bash "sb-score --on-error quarantine=ba"
	assert_success
	assert_output "bad.ndjson"
	complete_bash "sb-score --config "
	assert_success
	assert_line "bad.ndjson"
	assert_line "state"
	complete_bash "sb-score -S "
	assert_success
	assert_output "state"
	complete_bash "sb-score --pass b"
	assert_success
	assert_output "bad.ndjson"
	complete_bash "sb-score -- -"
	assert_success
	assert_output ""
}

@test "completions: bash offers nothing for free-text values" {
	complete_bash "sb-score --tenant "
	assert_success
	assert_output ""
	complete_bash "sb-score -w "
	assert_success
	assert_output ""
}

@test "completions: bash-completion loads the file by each tool's name" {
	[[ -f $BASH_COMPLETION ]] ||
		skip "bash-completion is not installed (Debian package bash-completion)"
	local tool
	mkdir -p "$BATS_TEST_TMPDIR/completions"
	while read -r tool; do
		cp "$ROOT/$BASH_FILE" "$BATS_TEST_TMPDIR/completions/$tool"
	done < <(tools)
	# As bash does on the first completion of a tool: call the default
	# completion, bash-completion's loader, which sources the file of the
	# tool's name and returns 124 to have the completion tried again.
	while read -r tool; do
		run env -u BASH_ENV BASH_COMPLETION_USER_DIR="$BATS_TEST_TMPDIR" \
			bash --norc --noprofile -c '
			source "$1" || exit
			tool=$2
			spec=$(complete -p -D) || exit
			loader=${spec##*-F } loader=${loader%% *}
			"$loader" "$tool" "" "$tool"
			[[ $? == 124 ]] || { echo "$tool: the loader found no completion"; exit 1; }
			spec=$(complete -p "$tool") || exit
			fn=${spec##*-F } fn=${fn%% *}
			COMP_WORDS=("$tool" --hel) COMP_CWORD=1
			COMP_LINE="$tool --hel" COMP_POINT=${#COMP_LINE}
			"$fn" "$tool" --hel "$tool"
			printf "%s\n" "${COMPREPLY[@]}"
		' sh "$BASH_COMPLETION" "$tool" </dev/null
		assert_success
		assert_output -- "--help"
	done < <(tools)
}

@test "completions: zsh file parses" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$ROOT/$ZSH_FILE"
	assert_success
}

@test "completions: fish files parse" {
	command -v fish >/dev/null || skip "fish is not installed"
	local file
	for file in "$ROOT"/completions/fish/*.fish; do
		run fish --no-execute "$file" </dev/null
		assert_success
	done
}

@test "completions: fish completes the common and own options of every tool" {
	command -v fish >/dev/null || skip "fish is not installed"
	local tool ntools=0
	while read -r tool; do
		((ntools++)) || true
		# A common option, from sb-common.fish, which the tool's file sources.
		complete_fish "$tool --hel"
		assert_success
		assert_equal "$stderr" ""
		assert_output -- $'--help\tShow this help and exit'
		complete_fish "$tool --on-error "
		assert_success
		assert_equal "$stderr" ""
		assert_line --regexp $'^fail\t'
		assert_line --regexp $'^quarantine=\t'
	done < <(fish_tools)
	((ntools > 0)) || fail "no tool files in $FISH_DIR"
	complete_fish "sb-stream --fo"
	assert_success
	assert_equal "$stderr" ""
	assert_line --regexp $'^--format\t'
	complete_fish "sb-score --on-e"
	assert_success
	assert_equal "$stderr" ""
	assert_output -- $'--on-error\tWhat to do with malformed lines'
	complete_fish "sb-score --ri"
	assert_success
	assert_output -- $'--risk\tDrop opportunities riskier than LEVEL'
}
