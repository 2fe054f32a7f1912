#!/usr/bin/env bash
# Regenerates the CCF comparison table of processes/ccf/README.md in one run:
# `fabcell plan --process ccf` with every planner on Bearing, Gear and Shell,
# then a markdown table of sharp turns (> ccf.sharp_turn_deg), stroke length,
# edges printed twice, wall and CPU planning time, read from the plan JSON
# files and /usr/bin/time.
#
# usage (from the repository root):
#   processes/ccf/ccftest/table.sh OUTDIR [ENTRY...]
# ENTRY is PLANNER or PLANNER@CONFIG.yaml (a cell config for that row), e.g.
#   processes/ccf/ccftest/table.sh /tmp/ccftable lsg-dqn euler euler@matched.yaml bfs
# Each model runs as its own background job; the entries of a model run in
# order. lsg-dqn takes tens of CPU minutes per model.
set -euo pipefail
out=${1:?usage: table.sh OUTDIR [PLANNER[@CONFIG.yaml]...]}
shift
entries=("$@")
[ ${#entries[@]} -eq 0 ] && entries=(lsg-dqn euler dfs greedy)
mkdir -p "$out"
go build -o "$out/fabcell" ./cmd/fabcell
label() { # entry → file-safe label
  local p=${1%%@*} c=""
  [[ $1 == *@* ]] && c=$(basename "${1#*@}" .yaml)
  echo "$p${c:+-$c}"
}
for m in Bearing Gear Shell; do
  (
    for e in "${entries[@]}"; do
      p=${e%%@*}
      cfgflag=()
      [[ $e == *@* ]] && cfgflag=(--config "${e#*@}")
      l=$(label "$e")
      /usr/bin/time -f "%U %S" -o "$out/$m-$l.time" \
        "$out/fabcell" "${cfgflag[@]}" plan --process ccf --planner "$p" -q \
        --model processes/ccf/testdata/Node${m}_CCF.txt --out "$out/$m-$l.json" \
        --plot "$out/$m-$l.png" 2> "$out/$m-$l.log" || echo "$m $e failed (see $out/$m-$l.log)"
    done
  ) &
done
wait
metric() { # file key
  grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -1 | cut -d: -f2 | tr -d " "
}
{
  printf '| model | planner | sharp turns | length (m) | edges twice | one stroke | wall (s) | CPU (s) |\n'
  printf '|---|---|---|---|---|---|---|---|\n'
  for m in Bearing Gear Shell; do
    for e in "${entries[@]}"; do
      l=$(label "$e")
      f="$out/$m-$l.json"
      [ -f "$f" ] || continue
      cpu=$(awk '{print $1+$2}' "$out/$m-$l.time" 2>/dev/null || echo "?")
      printf '| %s | %s | %s | %.2f | %s | %s | %.1f | %s |\n' "$m" "$l" "$(metric "$f" sharp_turns)" \
        "$(awk "BEGIN{print $(metric "$f" length_mm)/1000}")" "$(metric "$f" retraversed_edges)" \
        "$(metric "$f" one_stroke)" "$(metric "$f" elapsed_s)" "$cpu"
    done
  done
} | tee "$out/table.md"
