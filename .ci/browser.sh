#!/usr/bin/env bash
# The browser suite: every notebook run in JupyterLab in headless Chromium (tests/browser).
# On a fresh Debian machine this installs Debian's chromium (apt) and the Python side (playwright,
# jupyterlab) into the same Python that runs the tests. Playwright's own browser download
# (`playwright install`) is not used: the tests launch /usr/bin/chromium.
#
# Usage: bash .ci/browser.sh [extra pytest args]
#   PYTHON=...                 the Python to use (default: .venv/bin/python if present, else python3)
#   BROWSER_TIMEOUT_SCALE=2    stretch every timeout on a slow machine
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

if [ ! -x "${BROWSER_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "--- installing Debian's chromium (a few minutes)"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium fonts-liberation
fi
"${BROWSER_CHROMIUM:-/usr/bin/chromium}" --version

export PIP_DISABLE_PIP_VERSION_CHECK=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! "$PYTHON" -c "import playwright.sync_api, jupyterlab, nbconvert, nbclient, mathjax" 2>/dev/null; then
  echo "--- installing the browser extra (playwright, jupyterlab, nbconvert, MathJax) into $PYTHON"
  "$PYTHON" -m pip install --quiet -e ".[browser]"
fi
"$PYTHON" -m jupyter labextension list 2>&1 | grep -Ei "widgets|plotly" || true

# Every notebook runs head-less three times: twice here, once more in the site build (its
# site.json must report no stall either: tests/browser/test_site_browser.py).
echo "--- head-less execution: every notebook (and a 40-widget-cell stress notebook) twice with nbclient, no cell may stall"
start=$(date +%s)
headless_status=0
"$PYTHON" benchmarks/bench_headless.py --runs 2 --stress 40 || headless_status=$?
echo "--- head-less runs took $(( $(date +%s) - start )) s"

echo "--- static site: python -m crystal_tutorial site site-build"
start=$(date +%s)
rm -rf site-build
site_status=0
"$PYTHON" -m crystal_tutorial site site-build || site_status=$?
echo "--- site built in $(( $(date +%s) - start )) s (exit $site_status)"
export SITE_DIR="$PWD/site-build"   # a failed build leaves no index.html: the site tests then fail fast

echo "--- browser suite (notebooks in JupyterLab, then every site page)"
start=$(date +%s)
status=0
BROWSER_REQUIRED=1 "$PYTHON" -m pytest -m browser tests/browser -p no:cacheprovider -p no:randomly \
  --tb=short -rs -v "$@" || status=$?
echo "--- browser suite took $(( $(date +%s) - start )) s (exit $status); artifacts:"
ls -l browser-artifacts 2>/dev/null || echo "(no browser-artifacts directory)"
[ "$headless_status" -eq 0 ] || echo "--- head-less execution stalled or failed (exit $headless_status)"
[ "$status" -ne 0 ] && exit $status
[ "$site_status" -ne 0 ] && exit $site_status
exit $headless_status
