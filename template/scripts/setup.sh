#!/usr/bin/env bash
# Find uv and a Python for this project, then create .venv with uv sync.
#
# Python, first match wins:
#   1. $PYTHON, when set (make setup PYTHON=/path/to/python3.12);
#   2. the preferred version from .python-version (python3.X, python3 or python on PATH);
#   3. the newest python3.X / python3 / python on PATH that satisfies requires-python;
#   4. a uv-managed install of the preferred version (downloaded if needed, with a timeout).
# An interpreter or a uv that does not run, hangs, or answers something else (a pyenv shim for
# a version that is not installed, say) is skipped with a note.
#
# Every external command is bounded (see `bounded` below), and every failure ends with one line,
# "setup: error: what went wrong: what to do".
#
# Usage: scripts/setup.sh [--find]   (--find: report uv and Python, change nothing)
# Env:   PYTHON, UV            paths of the interpreter and of the uv to use;
#        SETUP_PROBE_TIMEOUT   seconds for each question to a tool (`--version`, `python -c`,
#                              `uv python find`, git, `pre-commit install`), default 20;
#        SETUP_TIMEOUT         seconds for `uv python install` (a download), default 60;
#        SYNC_TIMEOUT          seconds for `uv sync`, default 300;
#        SETUP_KILL_AFTER      seconds from TERM to KILL for a tool that ignores TERM, default 5;
#        UV_HTTP_TIMEOUT       seconds for each request uv makes, default 20.
# Bash 3.2 (macOS) or newer.
set -euo pipefail

cd "$(dirname "$0")/.."

FIND_ONLY=false
case "${1:-}" in
  "") ;;
  --find) FIND_ONLY=true ;;
  *) printf 'usage: %s [--find]\n' "$0" >&2; exit 2 ;;
esac
# Written on success: the Makefile runs setup until it exists.
DONE=.venv/.setup-done
NL=$'\n'

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# seconds_from NAME DEFAULT: the value of variable NAME (DEFAULT when unset or empty), which
# must be a whole number of seconds.
seconds_from() {
  local value
  eval "value=\${$1:-$2}"
  case "$value" in
    *[!0-9]* | 0*) die "$1=$value is not a whole number of seconds: set it to one, such as $1=$2" ;;
  esac
  printf '%s\n' "$value"
}
PROBE_TIMEOUT=$(seconds_from SETUP_PROBE_TIMEOUT 20)
TIMEOUT=$(seconds_from SETUP_TIMEOUT 60)
SYNC_TIMEOUT=$(seconds_from SYNC_TIMEOUT 300)
KILL_AFTER=$(seconds_from SETUP_KILL_AFTER 5)
# A network that accepts connections and never answers must not hang setup.
export UV_HTTP_TIMEOUT=${UV_HTTP_TIMEOUT:-20}

# bounded SECONDS COMMAND...: run COMMAND (no stdin) for at most SECONDS. At the bound its whole
# process group gets TERM, and KILL_AFTER seconds later KILL (a tool that ignores TERM); the
# status is then 124, as with GNU timeout. COMMAND runs as a background job in a process group
# of its own (set -m), so that its children die with it, and so that Ctrl-C, which the terminal
# sends to the foreground group only, still stops it (the traps below). The bound is kept by:
#   - GNU coreutils' timeout -k, as that job: Linux, and macOS with Homebrew's coreutils
#     (gtimeout); any timeout that accepts -k (recent BSDs, BusyBox) serves too;
#   - otherwise a watchdog job that sleeps out the bound, then signals COMMAND's group: stock
#     macOS (no timeout, bash 3.2) and other systems without one.
TIMEOUT_TOOL=""
for tool in timeout gtimeout; do
  if command -v "$tool" >/dev/null 2>&1 && "$tool" -k 1 10 "$BASH" -c : >/dev/null 2>&1; then
    TIMEOUT_TOOL=$tool
    break
  fi
done
if [ -z "$TIMEOUT_TOOL" ] && ! command -v sleep >/dev/null 2>&1; then
  die "neither timeout nor sleep is on PATH, so no command could be bounded: add /bin and /usr/bin to PATH"
fi
JOB=""
DOG=""

# signal SIG PID: send SIG to the process group PID leads, or to PID alone when it leads none
# (a shell whose job control did not take).
signal() { kill -"$1" -- "-$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null || true; }

# On Ctrl-C or a signal: TERM the running command's group now, KILL it a little later (a tool
# that ignores TERM, after this script is gone), and stop the watchdog.
stop_job() {
  if [ -n "$DOG" ]; then signal KILL "$DOG"; fi
  if [ -n "$JOB" ]; then
    signal TERM "$JOB"
    (sleep "$KILL_AFTER" && signal KILL "$JOB") >/dev/null 2>&1 </dev/null &
  fi
}

bounded() {
  local seconds=$1 status=0 start=$SECONDS
  shift
  # A command substitution does not inherit traps: set them in the shell that runs the command.
  trap 'stop_job; exit 130' INT
  trap 'stop_job; exit 143' TERM
  trap 'stop_job; exit 129' HUP
  set -m
  if [ -n "$TIMEOUT_TOOL" ]; then
    "$TIMEOUT_TOOL" -k "$KILL_AFTER" "$seconds" "$@" </dev/null &
    JOB=$!
  else
    "$@" </dev/null &
    JOB=$!
    {
      sleep "$seconds"
      signal TERM "$JOB"
      sleep "$KILL_AFTER"
      signal KILL "$JOB"
    } >/dev/null 2>&1 </dev/null &
    DOG=$!
  fi
  set +m
  wait "$JOB" 2>/dev/null || status=$?
  if [ -n "$DOG" ]; then
    signal KILL "$DOG"
    wait "$DOG" 2>/dev/null || true
  fi
  # Nothing the command started outlives it: a child that ignored TERM, or holds a pipe open.
  kill -KILL -- "-$JOB" 2>/dev/null || true
  JOB=""
  DOG=""
  if [ $((SECONDS - start)) -ge "$seconds" ]; then
    case "$status" in 124 | 137 | 143) return 124 ;; esac
  fi
  return "$status"
}

# Where captured answers go (see `capture`): a directory of this run's own, removed on exit.
CAPTURES=0
WORK=""
if WORK=$(mktemp -d "${TMPDIR:-/tmp}/setup.XXXXXX" 2>/dev/null) && [ -d "$WORK" ]; then
  trap 'rm -rf "$WORK"' EXIT
else
  WORK=""
fi
OUTPUT=""

# capture SECONDS COMMAND...: bounded, with COMMAND's stdout in OUTPUT (trailing newlines
# dropped, as by $(...)) and its stderr discarded; the status is bounded's. The answer goes
# through a file, not a pipe: $(...) waits until every process holding the pipe has closed it,
# so a child COMMAND detached from its process group (setsid) would hold setup past the bound.
# Each answer gets a file of its own: such a child may still write to the one it holds. With no
# temporary directory (no mktemp, TMPDIR not writable), the answer comes through a pipe.
capture() {
  local file status=0
  if [ -z "$WORK" ]; then
    OUTPUT=$(bounded "$@" 2>/dev/null) || status=$?
    return "$status"
  fi
  CAPTURES=$((CAPTURES + 1))
  file="$WORK/out.$CAPTURES"
  bounded "$@" >"$file" 2>/dev/null || status=$?
  OUTPUT=$(<"$file")
  return "$status"
}

# The first line of a tool's answer, double-quoted and shortened, for a message.
quoted() {
  local line=${1%%"$NL"*}
  [ "${#line}" -le 60 ] || line="${line:0:57}..."
  printf '"%s"' "$line"
}

# "3.12", "3.12.1", "cpython@3.12" -> "3.12"
major_minor() { printf '%s\n' "$1" | sed -n 's/^[^0-9]*\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p'; }

[ -f pyproject.toml ] || die "pyproject.toml not found in $(pwd): run setup from a project rendered by the template"
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

# True for "X.Y.Z": digits and exactly two dots, what a Python that runs answers.
is_version() {
  case "$1" in
    "" | *[!0-9.]* | .* | *. | *..*) return 1 ;;
  esac
  [ "${1//[0-9]/}" = ".." ]
}

# Set VERSION to the "X.Y.Z" of interpreter $1; for one that does not answer it, fail and say
# why in WHY_NOT.
probe_python() {
  local out status=0
  VERSION=""
  capture "$PROBE_TIMEOUT" "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' || status=$?
  out=$OUTPUT
  if [ "$status" -eq 124 ]; then
    WHY_NOT="it did not answer within ${PROBE_TIMEOUT}s"
  elif [ "$status" -ne 0 ]; then
    WHY_NOT="it exists but does not run (a pyenv shim for a version that is not installed?)"
  elif ! is_version "$out"; then
    WHY_NOT="it answered $(quoted "$out") instead of its version"
  else
    VERSION=$out
    return 0
  fi
  return 1
}

PY=""
PY_VERSION=""
PY_REASON=""
# The interpreters already skipped, one a line.
SKIPPED=""

# Every executable called $1 on PATH (or $1 itself when it is a path), in PATH order.
candidates() {
  case "$1" in
    */*) [ -x "$1" ] && printf '%s\n' "$1" ;;
    *)
      # Split at the colons alone: no word splitting or globbing of the directories' names.
      local rest="$PATH:" dir
      while [ -n "$rest" ]; do
        dir=${rest%%:*}
        rest=${rest#*:}
        [ -n "$dir" ] && [ -f "$dir/$1" ] && [ -x "$dir/$1" ] && printf '%s\n' "$dir/$1"
      done
      ;;
  esac
  return 0
}

# Accept the first interpreter called $1 that runs and satisfies requires-python;
# $2 = "preferred" also requires the preferred major.minor.
consider() {
  local path
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    case "$NL$SKIPPED$NL" in *"$NL$path$NL"*) continue ;; esac
    if ! probe_python "$path"; then
      say "skipping $path: $WHY_NOT"
      SKIPPED="$SKIPPED$NL$path"
      continue
    fi
    if [ "${2:-}" = preferred ] && [ "$(major_minor "$VERSION")" != "$PREFERRED" ]; then
      continue
    fi
    satisfies "$VERSION" || continue
    PY=$path
    PY_VERSION=$VERSION
    return 0
  done <<EOF
$(candidates "$1")
EOF
  return 1
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    consider "$PYTHON" ||
      die "PYTHON=$PYTHON does not run or is older than $MINIMUM (requires-python): point PYTHON at another interpreter, or leave it unset"
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

# True when the command given as arguments is a working uv: sets UV_VERSION, else WHY_NOT.
is_uv() {
  local out status=0
  capture "$PROBE_TIMEOUT" "$@" --version || status=$?
  out=$OUTPUT
  if [ "$status" -eq 124 ]; then
    WHY_NOT="\`--version\` did not answer within ${PROBE_TIMEOUT}s"
  elif [ "$status" -ne 0 ]; then
    WHY_NOT="\`--version\` failed (exit status $status)"
  else
    case "$out" in
      "uv "*)
        UV_VERSION=${out%%"$NL"*}
        return 0
        ;;
    esac
    WHY_NOT="\`--version\` answered $(quoted "$out") instead of uv's version"
  fi
  return 1
}

UV_CMD=()
UV_VERSION=""
# Whether a uv was found that does not work (the install hint then says so).
UV_BROKEN=false
find_uv() {
  local candidate tried=""
  for candidate in "${UV:-}" .venv/bin/uv "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" \
    "$HOME/.cargo/bin/uv" /opt/homebrew/bin/uv /usr/local/bin/uv; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    case "$NL$tried$NL" in *"$NL$candidate$NL"*) continue ;; esac
    tried="$tried$NL$candidate"
    if is_uv "$candidate"; then
      UV_CMD=("$candidate")
      return 0
    fi
    say "skipping uv $candidate: $WHY_NOT"
    UV_BROKEN=true
  done
  for candidate in "$PY" python3; do
    [ -n "$candidate" ] || continue
    if is_uv "$candidate" -m uv; then
      UV_CMD=("$candidate" -m uv)
      return 0
    fi
    # Most Pythons have no uv module, which needs no note; one that hangs does.
    case "$WHY_NOT" in *"did not answer"*) say "skipping $candidate -m uv: $WHY_NOT" ;; esac
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
  if [ "$UV_BROKEN" = true ]; then
    echo "setup: no uv above works: install uv (or repair the one above), then run \`make setup\` again:" >&2
  else
    cat >&2 <<'EOF'
setup: uv was not found on PATH, in ~/.local/bin, ~/.cargo/bin, /opt/homebrew/bin,
/usr/local/bin, or as `python -m uv`. Install it, then run `make setup` again:
EOF
  fi
  cat >&2 <<'EOF'
  python3 -m pip install --user uv     # or: pipx install uv
  curl -LsSf https://astral.sh/uv/install.sh | sh
or point setup at it: make setup UV=/path/to/uv
EOF
}

# Set PY to uv's managed install of the preferred version; fail when uv has none (or hangs).
managed_python() {
  local status=0
  capture "$PROBE_TIMEOUT" "${UV_CMD[@]}" python find --managed-python --no-project "$PREFERRED" || status=$?
  PY=$OUTPUT
  if [ "$status" -eq 124 ]; then
    say "note: \`uv python find\` did not answer within ${PROBE_TIMEOUT}s"
  fi
  [ "$status" -eq 0 ] && [ -n "$PY" ]
}

find_python || true
if ! find_uv; then
  [ -n "$PY" ] && say "Python: $PY ($PY_VERSION) - $PY_REASON"
  how_to_install_uv
  die "uv not found: install it as shown above, or point setup at one: make setup UV=/path/to/uv"
fi
say "uv: ${UV_CMD[*]} ($UV_VERSION)"

if [ -z "$PY" ]; then
  if managed_python; then
    PY_REASON="uv-managed install of the preferred version"
  elif [ "$FIND_ONLY" = true ]; then
    how_to_install_python
    die "no Python >= $MINIMUM found: install one as shown above (or run setup without --find: uv can install $PREFERRED)"
  else
    say "no Python >= $MINIMUM found; asking uv to install Python $PREFERRED (timeout ${TIMEOUT}s)"
    status=0
    bounded "$TIMEOUT" "${UV_CMD[@]}" python install "$PREFERRED" || status=$?
    if [ "$status" -eq 124 ]; then
      how_to_install_python
      die "uv python install $PREFERRED did not finish in ${TIMEOUT}s (a slow or unreachable network?): install Python as shown above, or wait longer with SETUP_TIMEOUT=300 make setup"
    elif [ "$status" -ne 0 ] || ! managed_python; then
      how_to_install_python
      die "no Python >= $MINIMUM found, and uv could not install Python $PREFERRED (no network access?): install it as shown above"
    fi
    PY_REASON="installed by uv (no suitable interpreter on PATH)"
  fi
  probe_python "$PY" ||
    die "uv's Python $PY: $WHY_NOT: remove it (uv python uninstall $PREFERRED), or make setup PYTHON=/path/to/python$PREFERRED"
  PY_VERSION=$VERSION
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
bounded "$SYNC_TIMEOUT" "${UV_CMD[@]}" sync --python "$PY" || status=$?
if [ "$status" -eq 124 ]; then
  die "uv sync did not finish in ${SYNC_TIMEOUT}s (a slow or unreachable package index?): check the network or proxy settings, then run \`make setup\` again (SYNC_TIMEOUT=600 make setup waits longer)"
elif [ "$status" -ne 0 ]; then
  die "uv sync failed: fix the dependency or network problem it reports above, then run \`make setup\` again"
fi
# A uv that says it synced is not trusted: .venv's Python must answer.
[ -x .venv/bin/python ] ||
  die "uv sync (${UV_CMD[*]}) exited 0 but created no .venv/bin/python: run \`make setup\` again with a working uv (make setup UV=/path/to/uv)"
probe_python .venv/bin/python ||
  die "the .venv/bin/python uv sync made does not work ($WHY_NOT): remove .venv, then run \`make setup\` again"
say ".venv ready (Python $VERSION)"

# Hooks go into this project's repository only, never into an enclosing one.
if [ -f .pre-commit-config.yaml ]; then
  top=""
  if capture "$PROBE_TIMEOUT" git rev-parse --show-toplevel; then top=$OUTPUT; fi
  if [ "$top" = "$(pwd -P)" ]; then
    bounded "$PROBE_TIMEOUT" .venv/bin/pre-commit install ||
      say "warning: pre-commit install failed or did not finish in ${PROBE_TIMEOUT}s (see above); the hooks are not active, \`make pre-commit\` still runs them"
  else
    say "not installing git hooks: $(pwd -P) is not the top of a git repository (git init, then make setup)"
  fi
fi
touch "$DONE" 2>/dev/null || die "could not write $DONE: make .venv writable (or remove it), then run \`make setup\` again"
