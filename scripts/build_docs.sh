#!/usr/bin/env bash
# Builds the API reference and the tutorial (doc/Doxyfile) into <output folder>/html; fails on any doxygen warning
# (undocumented public symbol, broken reference or snippet). Usage: scripts/build_docs.sh [output folder]
# Needs doxygen (Debian: apt-get install doxygen; scripts/install_deps.sh installs it). $DOXYGEN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-build/doc}" && cd "${1:-build/doc}" && pwd)
doxygen=${DOXYGEN:-doxygen}
command -v "$doxygen" >/dev/null || { echo "build_docs: doxygen not found (apt-get install doxygen)" >&2; exit 1; }
log="$out/doxygen-warnings.log"
# The Doxyfile is read from stdin so that the output folder can be chosen without editing it.
if ! { cat doc/Doxyfile; echo "OUTPUT_DIRECTORY = $out"; echo "WARN_LOGFILE = $log"; } | "$doxygen" - ; then
  echo "build_docs: doxygen failed; warnings:" >&2
  cat "$log" >&2
  exit 1
fi
if [ -s "$log" ]; then
  cat "$log" >&2
  echo "build_docs: warnings above (fix them: CI treats them as errors)" >&2
  exit 1
fi
echo "build_docs: $out/html/index.html"
