#!/usr/bin/env bash
# Check this machine for what the project needs and say what to install; exit 1 when a
# required tool is missing. `make doctor` runs it; it changes nothing.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

missing=0
line() { printf '  %-8s %-12s %s\n' "$1" "$2" "$3"; }
ok() { line ok "$1" "$2"; }
need() {
  line MISSING "$1" "$2"
  missing=$((missing + 1))
}

echo "Required:"
if version=$(git --version 2>/dev/null); then
  ok git "${version#git version }"
else
  need git "install git (apt install git, brew install git, or xcode-select --install)"
fi

# The make running this (make doctor passes its version), else the one on PATH.
make_version=${MAKE_VERSION:-$(make --version 2>/dev/null | sed -n '1s/^GNU Make //p')}
major=${make_version%%.*}
minor=${make_version#*.}
minor=${minor%%[!0-9]*}
if [ -z "$make_version" ] || [ -z "$minor" ]; then
  need make "install GNU make 3.81 or newer (apt install make, brew install make)"
elif [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 81 ]; }; then
  ok make "GNU Make $make_version"
else
  need make "GNU Make $make_version is too old: install 3.81 or newer"
fi

# uv and Python: the same search as make setup, without changing anything.
if found=$(bash scripts/setup.sh --find 2>&1); then
  while IFS= read -r text; do
    case "$text" in
      "setup: uv: "*) ok uv "${text#setup: uv: }" ;;
      "setup: Python: "*) ok python "${text#setup: Python: }" ;;
      *) printf '           %s\n' "${text#setup: }" ;;
    esac
  done <<<"$found"
else
  case "$found" in
    *"uv not found"*) need uv "scripts/setup.sh found no uv:" ;;
    *) need python "scripts/setup.sh found no Python it can use:" ;;
  esac
  printf '%s\n' "$found" | sed 's/^/           /'
fi

# Tools only some features need: reported, never fatal.
if [ -f scripts/auto-sync.py ]; then
  echo "Optional:"
  if command -v "${CRONTAB:-crontab}" >/dev/null 2>&1; then
    ok crontab "found (make setup-sync can schedule auto-sync)"
  else
    line absent crontab "make setup-sync needs cron (apt install cron); make auto-sync works without it"
  fi
fi

echo "Project:"
if [ -f .venv/.setup-done ]; then
  ok .venv "set up ($(.venv/bin/python --version 2>&1))"
else
  line todo .venv "not set up yet: make setup (any make target that needs it runs it)"
fi

if [ "$missing" -gt 0 ]; then
  echo "doctor: $missing required tool(s) missing: install them, then run make doctor again." >&2
  exit 1
fi
echo "doctor: everything the project needs is here."
