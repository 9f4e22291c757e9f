#!/usr/bin/env bash
# Creates bench/.venv-thumbor with thumbor 7 from PyPI (git-ignored; run.py calls this when the
# virtualenv is missing). thumbor gets its own virtualenv: it pins Pillow and tornado versions
# that have nothing to do with Pixelpress's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-thumbor"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "thumbor>=7,<8"
"$venv/bin/thumbor" --version
