#!/usr/bin/env bats
# The build: install and uninstall honour PREFIX and DESTDIR.

setup() {
	load test_helper/common
	# Stay in the mode the suite was built in (make check SAN=1 or not).
	san=
	if [ "$(cat "$SB_ROOT/build/.mode" 2>/dev/null)" = san ]; then san=1; fi
}

@test "make install puts tools, man pages and completions under DESTDIR/PREFIX; uninstall removes them" {
	run -0 make -s -C "$SB_ROOT" install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/opt/sb SAN=$san
	for f in bin/sb-score share/man/man1/sb-score.1 share/man/man7/sb.7 \
		share/bash-completion/completions/sb-score share/zsh/vendor-completions/_sb \
		share/fish/vendor_completions.d/sb-score.fish; do
		assert [ -f "root/opt/sb/$f" ]
	done
	assert [ -x root/opt/sb/bin/sb-score ]
	run -0 root/opt/sb/bin/sb-score --version
	run -0 make -s -C "$SB_ROOT" uninstall DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/opt/sb SAN=$san
	assert_equal "$(find root -type f | wc -l)" 0
}

@test "every tool has a man page and a test file" {
	for src in "$SB_ROOT"/cmd/sb-*.c; do
		tool=$(basename "$src" .c)
		assert [ -f "$SB_ROOT/man/$tool.1" ]
		assert [ -f "$SB_ROOT/test/$tool.bats" ]
	done
}

# A user who is not root, and a dpkg-query whose answer is the shell code $1.
fake_user_and_dpkg() {
	mkdir -p fakebin
	printf '#!/bin/sh\necho 1000\n' >fakebin/id
	printf '#!/bin/sh\n%s\n' "$1" >fakebin/dpkg-query
	chmod +x fakebin/id fakebin/dpkg-query
}

@test "set-up names the apt-get command when not root and packages are missing" {
	# only jq installed, and a package that provides npm
	fake_user_and_dpkg 'printf "ii |jq, \nii |nodejs, npm\nrc |gcc, \n"'
	run -2 --separate-stderr env PATH="$PWD/fakebin:$PATH" sh "$SB_ROOT/scripts/ensure-deps"
	assert_equal "${stderr_lines[0]}" "sb: missing Debian packages; install them with:"
	assert_regex "${stderr_lines[1]}" '^  sudo apt-get install -y gcc make .*libjq-dev .*bats-assert'
	[[ "${stderr_lines[1]}" != *" jq "* && "${stderr_lines[1]}" != *" npm"* && "${stderr_lines[1]}" != *nodejs* ]]
}

@test "set-up does nothing when every package is present" {
	fake_user_and_dpkg "$(printf 'for p in %s; do echo "ii |$p, "; done' "$(sed -n '/^packages="/,/"$/p' "$SB_ROOT/scripts/ensure-deps" | tr -d '"' | sed 's/^packages=//' | tr '\n' ' ')")"
	run -0 --separate-stderr env PATH="$PWD/fakebin:$PATH" sh "$SB_ROOT/scripts/ensure-deps"
	assert_equal "$stderr" ""
}
