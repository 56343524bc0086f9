# Loaded by every test file's setup(): libraries, PATH to bin/, a hermetic environment.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

SB_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
FIXTURES="$SB_ROOT/test/fixtures"
PATH="$SB_ROOT/bin:$PATH"
export HOME="$BATS_TEST_TMPDIR/home" LC_ALL=C
mkdir -p "$HOME"
unset XDG_CONFIG_HOME XDG_STATE_HOME
for v in $(env | sed -n 's/^\(SB_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
cd "$BATS_TEST_TMPDIR" || exit 1

