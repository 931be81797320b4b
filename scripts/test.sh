#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, then the Python package's.
#
#     bash scripts/test.sh
#
# Where MPI is installed (`mpirun` on PATH, with its headers and libclang for the
# bindings: Debian's openmpi-bin libopenmpi-dev libclang-dev), the Rust tests are
# built with the `mpi` feature, so tests/mpi.rs runs 2-rank jobs on loopback too;
# without it they are skipped with a note (CI sets PDENET_REQUIRE_MPI=1 and fails
# instead).
# The Python package is built by maturin (`pip install .`, against the same target/
# directory as the Rust build, so only the extension itself is compiled again) into a
# virtual environment under target/, with what its tests and the notebook example
# use (pytest, numpy, matplotlib, scipy); then pytest runs python/tests. Last, the
# editor grammar is checked on every .pde file with VS Code's TextMate engine (npm).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v mpirun >/dev/null 2>&1; then
    cargo test --release --features mpi
    # The default build (no MPI) must still compile: main.rs has a branch of its own.
    cargo check --release --bins
elif [ "${PDENET_REQUIRE_MPI:-0}" = 1 ]; then
    echo "PDENET_REQUIRE_MPI=1 but mpirun is not installed" >&2
    exit 1
else
    echo "note: no mpirun on PATH: the MPI tests (tests/mpi.rs) are skipped" >&2
    cargo test --release
fi

venv=target/pyenv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# The build backend runs `maturin` by name: the environment's own.
export PATH="$PWD/$venv/bin:$PATH"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.9,<2" pytest numpy matplotlib scipy
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation .
"$venv/bin/python" -m pytest -q python/tests

(cd editors/vscode && npm ci --silent --no-audit --no-fund && npm test --silent)
