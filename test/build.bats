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
