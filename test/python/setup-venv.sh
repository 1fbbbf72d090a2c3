#!/usr/bin/env bash
# Makes the Python environment for test/contract/openai-python.test.ts: a venv
# in .cache/python-openai/ (gitignored) with exactly the pins of
# test/python/requirements.txt. Idempotent: when the venv already holds these
# pins for this interpreter (its stamp file), it does nothing. Without it the
# test skips with a message, so `npm test` stays green where Python is missing;
# .ci/run calls this before `npm test`, so CI always runs it.
#
#   bash test/python/setup-venv.sh          # PYTHON=python3.12 to choose the interpreter
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON="${PYTHON:-python3}"
VENV=.cache/python-openai
REQ=test/python/requirements.txt
STAMP="$VENV/.pins"

if ! command -v "$PYTHON" >/dev/null; then
  echo "setup-venv: $PYTHON not found; the Python client test will be skipped" >&2
  exit 1
fi
# The stamp: the interpreter's version, then the sha256 of the pins (the test reads this
# second line to tell a stale venv), so a change to either rebuilds.
want="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')
$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "setup-venv: $VENV already has the pins of $REQ"
  exit 0
fi

start=$SECONDS
rm -rf "$VENV"
if ! "$PYTHON" -m venv "$VENV"; then
  echo "setup-venv: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)" >&2
  rm -rf "$VENV"
  exit 1
fi
# --retries 0: where no package index answers, fail at once rather than after minutes of retries.
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --retries 0 -r "$REQ"; then
  echo "setup-venv: pip could not install the pins of $REQ; the Python client test will be skipped" >&2
  rm -rf "$VENV"
  exit 1
fi
printf '%s\n' "$want" >"$STAMP"
echo "setup-venv: $VENV ready ($("$VENV/bin/python" -c 'import openai, websockets; print("openai", openai.__version__, "websockets", websockets.__version__)')) in $((SECONDS - start)) s"
