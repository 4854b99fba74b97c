#!/usr/bin/env bash
# Looks at a MixFit HTML report in a real browser: headless Chromium (Debian's chromium package) takes screenshots
# 1400 px wide of the comparison, of the comparison with epoch x axis and smoothing, and of the first run's
# Overview, System and Logs pages. Open the PNGs and look at them before changing the report.
# Usage: tools/report-screenshot.sh REPORT.html [OUT_DIR]   (OUT_DIR default: screenshots/ beside the report)
set -euo pipefail
report="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="${2:-$(dirname "$report")/screenshots}"
mkdir -p "$out"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "report-screenshot.sh: no Chromium found; install it with: sudo apt-get install chromium" >&2
  exit 2
fi
run="$(grep -o 'id="run-[^"]*"' "$report" | head -1 | sed 's/id="\(.*\)"/\1/')"
shoot() { # name, url suffix, height
  "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,"$3" \
    --screenshot="$out/$1.png" "file://$report$2" 2>/dev/null
  echo "$out/$1.png"
}
shoot comparison "" 3400
shoot comparison-epoch-smoothed "?x=epoch&smoothing=0.6" 1600
shoot run-overview "#$run" 1400
shoot run-system "#$run/system" 1000
shoot run-logs "#$run/logs" 800
