#!/usr/bin/env bash
# The measured suite behind docs/performance.md. Loopback only; a few minutes.
#   bash bench/suite.sh            (after npm run build; needs nginx for step a)
# Results: bench/results/*.json, tables on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each session holds two sockets in the proxy: raise the limit as far as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
OUT=bench/results
WAIT=${WAIT_IDLE:-120}
mkdir -p "$OUT"

echo "## (a) 1000 sessions x 25 frames/s: direct, proxy, nginx, plain and TLS upstream, two alternating repetitions"
node bench/compare.mjs --sessions 1000 --chunk-ms 40 --ramp 5 --warmup 3 --duration 20 --repeat 2 --wait-idle "$WAIT" --json "$OUT/a-compare-1000.json"

echo "## BUFFER_BUDGET_BYTES: 1000 stalled readers x 4 MB bursts against 128 MiB"
node bench/budget.mjs --readers 1000 --burst-mb 4 --budget-mib 128 --live 50 --hold 20 --json "$OUT/budget-1000.json"

echo "## (a') the proxy's CPU profile at 1000 sessions"
rm -rf /tmp/prof
node bench/streams.mjs --targets proxy --sessions 1000 --chunk-ms 40 --ramp 5 --warmup 3 --duration 20 --wait-idle "$WAIT" \
  --proxy-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof" --json "$OUT/a-profile-1000.json"
node bench/profile-top.mjs /tmp/prof/*.cpuprofile --top 25 | tee "$OUT/a-profile-1000.txt"

echo "## (b) 2000 sessions x 25 frames/s: proxy vs direct"
node bench/streams.mjs --targets proxy,direct --sessions 2000 --chunk-ms 40 --ramp 8 --warmup 3 --duration 20 --wait-idle "$WAIT" --json "$OUT/b-streams-2000.json"

echo "## (c) 5000 sessions x 10 frames/s (100 ms chunks): proxy vs direct"
node bench/streams.mjs --targets proxy,direct --sessions 5000 --chunk-ms 100 --ramp 12 --warmup 3 --duration 20 --wait-idle "$WAIT" --json "$OUT/c-streams-5000.json"

echo "## (d) idle sessions: proxy RSS per session"
# 10,000 needs ~20,020 descriptors in the proxy; SESSIONS_D lowers it where the hard limit is 20,000.
node bench/streams.mjs --targets proxy --mode idle --sessions "${SESSIONS_D:-10000}" --ramp 20 --warmup 5 --duration 10 --proxy-env WORKERS=1 --wait-idle "$WAIT" --json "$OUT/d-idle.json"

echo "## HTTP: /health and refused upgrades"
node bench/http.mjs --duration 10 --connections 100 --json "$OUT/http.json"

echo "## Worker threads: WORKERS=1 against WORKERS=2"
node bench/workers.mjs --steps 200,400,600 --workers 1,2 --duration 10 --ramp 3 --json "$OUT/workers-low.json"
node bench/workers.mjs --steps 800,1400,2000 --workers 1,2 --duration 10 --ramp 4 --json "$OUT/workers.json"

echo "## Instructions per relayed frame (callgrind; skipped without valgrind)"
if command -v valgrind >/dev/null; then
  node bench/instructions.mjs --frames 10000 --sessions 10 --json "$OUT/instructions.json"
  node bench/instructions.mjs --frames 10000 --sessions 10 --upstream-tls --json "$OUT/instructions-tls.json"
fi
