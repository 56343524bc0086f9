# build_gen_series: compile test/gen-series.c, the synthetic metric series
# generator, into the test file's temporary directory and export its path as
# GEN. Call it from setup_file.
build_gen_series() {
	local root
	root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	export GEN="$BATS_FILE_TMPDIR/gen-series"
	cc -std=c11 -O2 -Wall -Wextra -Werror -o "$GEN" "$root/test/gen-series.c" -lm
}
