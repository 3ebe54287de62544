#!/usr/bin/env bash
# Find uv and a Python for this project, then create .venv with uv sync.
#
# Python, first match wins:
#   1. $PYTHON, when set (make setup PYTHON=/path/to/python3.12);
#   2. the preferred version from .python-version (python3.X, python3 or python on PATH);
#   3. the newest python3.X / python3 / python on PATH that satisfies requires-python;
#   4. a uv-managed install of the preferred version (downloaded if needed, with a timeout).
# An interpreter that exists but does not run (a pyenv shim for a version that is not
# installed, say) is skipped with a note.
#
# Usage: scripts/setup.sh [--find]   (--find: report uv and Python, change nothing)
# Env:   PYTHON, UV (paths to use), SETUP_TIMEOUT (seconds for a Python download, default 60),
#        SYNC_TIMEOUT (seconds for uv sync, default 300), UV_HTTP_TIMEOUT (per request, default 20).
set -euo pipefail

cd "$(dirname "$0")/.."

FIND_ONLY=false
case "${1:-}" in
  "") ;;
  --find) FIND_ONLY=true ;;
  *) printf 'usage: %s [--find]\n' "$0" >&2; exit 2 ;;
esac
TIMEOUT=${SETUP_TIMEOUT:-60}
SYNC_TIMEOUT=${SYNC_TIMEOUT:-300}
# A network that accepts connections and never answers must not hang setup.
export UV_HTTP_TIMEOUT=${UV_HTTP_TIMEOUT:-20}
# Written on success: the Makefile runs setup until it exists.
DONE=.venv/.setup-done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

with_timeout() {
  local seconds=$1
  shift
  if command -v timeout >/dev/null 2>&1; then
    timeout "$seconds" "$@"
  else
    "$@"
  fi
}

# "3.12", "3.12.1", "cpython@3.12" -> "3.12"
major_minor() { printf '%s\n' "$1" | sed -n 's/^[^0-9]*\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'; }

[ -f pyproject.toml ] || die "pyproject.toml not found in $(pwd)"
MINIMUM=$(sed -n 's/^requires-python *= *"[^0-9]*\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' pyproject.toml | head -n 1)
[ -n "$MINIMUM" ] || die 'pyproject.toml has no requires-python = ">=3.X": add one'
MIN_MAJOR=${MINIMUM%%.*}
MIN_MINOR=${MINIMUM#*.}
PREFERRED=""
if [ -f .python-version ]; then
  PREFERRED=$(major_minor "$(head -n 1 .python-version)")
fi
[ -n "$PREFERRED" ] || PREFERRED=$MINIMUM

# True when version "X.Y[.Z]" satisfies requires-python (>= MINIMUM).
satisfies() {
  local major=${1%%.*} minor=${1#*.}
  minor=${minor%%.*}
  [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }
}

# Print "X.Y.Z" for an interpreter that runs; fail for one that does not.
version_of() {
  local out
  out=$(with_timeout 20 "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || return 1
  case "$out" in
    [0-9]*.[0-9]*.[0-9]*) printf '%s\n' "$out" ;;
    *) return 1 ;;
  esac
}

PY=""
PY_VERSION=""
PY_REASON=""
SKIPPED=""

# Every executable called $1 on PATH (or $1 itself when it is a path), in PATH order.
candidates() {
  case "$1" in
    */*) [ -x "$1" ] && printf '%s\n' "$1" ;;
    *)
      local dir
      local IFS=:
      for dir in $PATH; do
        [ -n "$dir" ] && [ -f "$dir/$1" ] && [ -x "$dir/$1" ] && printf '%s\n' "$dir/$1"
      done
      ;;
  esac
  return 0
}

# Accept the first interpreter called $1 that runs and satisfies requires-python;
# $2 = "preferred" also requires the preferred major.minor.
consider() {
  local path version
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    case " $SKIPPED " in *" $path "*) continue ;; esac
    if ! version=$(version_of "$path"); then
      say "skipping $path: it exists but does not run (a pyenv shim for a version that is not installed?)"
      SKIPPED="$SKIPPED $path"
      continue
    fi
    if [ "${2:-}" = preferred ] && [ "$(major_minor "$version")" != "$PREFERRED" ]; then
      continue
    fi
    satisfies "$version" || continue
    PY=$path
    PY_VERSION=$version
    return 0
  done <<EOF
$(candidates "$1")
EOF
  return 1
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    consider "$PYTHON" || die "PYTHON=$PYTHON does not run or is older than $MINIMUM (requires-python)"
    PY_REASON="set by PYTHON"
    return 0
  fi
  local name
  for name in "python$PREFERRED" python3 python; do
    if consider "$name" preferred; then
      PY_REASON="preferred version from .python-version"
      return 0
    fi
  done
  local minor=20
  while [ "$minor" -ge "$MIN_MINOR" ]; do
    if [ "$MIN_MAJOR.$minor" != "$PREFERRED" ] && consider "python$MIN_MAJOR.$minor"; then break; fi
    minor=$((minor - 1))
  done
  if [ -z "$PY" ]; then
    for name in python3 python; do
      consider "$name" && break
    done
  fi
  if [ -n "$PY" ]; then
    PY_REASON="preferred $PREFERRED not found; $(major_minor "$PY_VERSION") satisfies requires-python >=$MINIMUM"
    return 0
  fi
  return 1
}

# True when the command given as arguments is a working uv.
is_uv() {
  case "$(with_timeout 20 "$@" --version 2>/dev/null)" in
    "uv "*) return 0 ;;
    *) return 1 ;;
  esac
}

UV_CMD=()
find_uv() {
  local candidate
  for candidate in "${UV:-}" .venv/bin/uv "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" \
    "$HOME/.cargo/bin/uv" /opt/homebrew/bin/uv /usr/local/bin/uv; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && is_uv "$candidate"; then
      UV_CMD=("$candidate")
      return 0
    fi
  done
  for candidate in "$PY" python3; do
    if [ -n "$candidate" ] && is_uv "$candidate" -m uv; then
      UV_CMD=("$candidate" -m uv)
      return 0
    fi
  done
  return 1
}

how_to_install_python() {
  cat >&2 <<EOF
setup: install Python $PREFERRED (or any version >= $MINIMUM), then run \`make setup\` again:
  uv python install $PREFERRED         # needs network access
  pyenv install $PREFERRED             # with pyenv
  brew install python@$PREFERRED       # macOS
  sudo apt install python$PREFERRED    # Debian/Ubuntu (deadsnakes PPA on older Ubuntu)
or point setup at an interpreter: make setup PYTHON=/path/to/python$PREFERRED
EOF
}

how_to_install_uv() {
  cat >&2 <<'EOF'
setup: uv was not found on PATH, in ~/.local/bin, ~/.cargo/bin, /opt/homebrew/bin,
/usr/local/bin, or as `python -m uv`. Install it, then run `make setup` again:
  python3 -m pip install --user uv     # or: pipx install uv
  curl -LsSf https://astral.sh/uv/install.sh | sh
or point setup at it: make setup UV=/path/to/uv
EOF
}

find_python || true
if ! find_uv; then
  [ -n "$PY" ] && say "Python: $PY ($PY_VERSION) - $PY_REASON"
  how_to_install_uv
  die "uv not found"
fi
say "uv: ${UV_CMD[*]} ($("${UV_CMD[@]}" --version 2>/dev/null))"

if [ -z "$PY" ]; then
  if PY=$("${UV_CMD[@]}" python find --managed-python --no-project "$PREFERRED" 2>/dev/null) && [ -n "$PY" ]; then
    PY_REASON="uv-managed install of the preferred version"
  elif [ "$FIND_ONLY" = true ]; then
    how_to_install_python
    die "no Python >= $MINIMUM found (uv could install $PREFERRED: run setup without --find)"
  else
    say "no Python >= $MINIMUM found; asking uv to install Python $PREFERRED (timeout ${TIMEOUT}s)"
    if with_timeout "$TIMEOUT" "${UV_CMD[@]}" python install "$PREFERRED" &&
      PY=$("${UV_CMD[@]}" python find --managed-python --no-project "$PREFERRED"); then
      PY_REASON="installed by uv (no suitable interpreter on PATH)"
    else
      how_to_install_python
      die "no Python >= $MINIMUM found, and uv could not install Python $PREFERRED (no network access?)"
    fi
  fi
  PY_VERSION=$(version_of "$PY") || die "uv's Python $PY does not run"
fi
say "Python: $PY ($PY_VERSION) - $PY_REASON"
if [ "$(major_minor "$PY_VERSION")" != "$PREFERRED" ]; then
  say "note: make targets use .venv's Python $(major_minor "$PY_VERSION"); for uv commands outside make, run"
  say "      export UV_PYTHON=.venv/bin/python   (or install Python $PREFERRED and run make setup again)"
fi
[ "$FIND_ONLY" = true ] && exit 0

# The project environment is .venv, whatever shell or make set before.
unset VIRTUAL_ENV UV_PYTHON
rm -f "$DONE"
status=0
with_timeout "$SYNC_TIMEOUT" "${UV_CMD[@]}" sync --python "$PY" || status=$?
if [ "$status" -eq 124 ]; then
  die "uv sync did not finish in ${SYNC_TIMEOUT}s (a slow or unreachable package index?): check the network or proxy settings, then run \`make setup\` again (SYNC_TIMEOUT=600 make setup waits longer)"
elif [ "$status" -ne 0 ]; then
  die "uv sync failed: fix the dependency or network problem it reports above, then run \`make setup\` again"
fi
say ".venv ready ($(.venv/bin/python --version 2>&1))"

# Hooks go into this project's repository only, never into an enclosing one.
if [ -f .pre-commit-config.yaml ]; then
  if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
    .venv/bin/pre-commit install ||
      say "warning: pre-commit install failed (see above); the hooks are not active, \`make pre-commit\` still runs them"
  else
    say "not installing git hooks: $(pwd -P) is not the top of a git repository (git init, then make setup)"
  fi
fi
touch "$DONE"
