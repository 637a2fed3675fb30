#!/bin/sh
# The image's build step (Dockerfile), also run as a plain command by tests/test_packaging.py:
# a virtualenv at $1 holding the app from the repo at $2, with PostgreSQL's driver, at the
# versions the suite passed with (constraints.txt).
set -eu
venv=$1
repo=$2
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$repo/constraints.txt" "$repo[postgres]"
"$venv/bin/switchboard" --help >/dev/null
