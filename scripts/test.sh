#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, then the Python package's.
#
#     bash scripts/test.sh
#
# The Python package is built by maturin (`pip install .`, against the same target/
# directory as the Rust build, so only the extension itself is compiled again) into a
# virtual environment under target/, with what its tests and the notebook example
# use (pytest, numpy, matplotlib, scipy); then pytest runs python/tests. Last, the
# editor grammar is checked on every .pde file with VS Code's TextMate engine (npm).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

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
