# Sourced by the measurement scripts (results*.sh, cost_by_size.sh, reference_compare.sh, ...): works from the project
# root and sets BIN, the patchcore program (PATCHCORE_BIN, default build/bin/patchcore; it must be built), and DATA,
# the data root (PATCHCORE_DATA_ROOT, default ../shared).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${PATCHCORE_BIN:-build/bin/patchcore}
DATA=${PATCHCORE_DATA_ROOT:-../shared}
[ -x "$BIN" ] || { echo "build the patchcore program first (scripts/build.sh), or set PATCHCORE_BIN" >&2; exit 1; }
