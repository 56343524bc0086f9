# build_driver VAR SOURCE: compile a test driver (test/SOURCE, a C file that
# calls into lib/) against the library of the build bin/ holds, with the
# sanitizers when that build is SAN=1, into the test file's temporary
# directory; export its path as VAR. Call it from setup_file.
build_driver() {
	local root mode san="" out
	root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	mode=$(cat "$root/build/.mode" 2>/dev/null) || mode=release
	[ "$mode" = san ] && san="-fsanitize=address,undefined"
	out="$BATS_FILE_TMPDIR/$(basename "$2" .c)"
	(cd "$root" && cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE $san -I"$root/lib" \
		-o "$out" "$2" "build/$mode/libsb.a" -ljq -lonig -lcrypto -lm)
	export "$1=$out"
}
