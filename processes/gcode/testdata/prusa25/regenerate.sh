#!/bin/bash
# Regenerates the PrusaSlicer 2.5 fixtures of this directory (see SOURCES.md).
# Usage: regenerate.sh DIR-WITH-Duck_wireframe.obj (RL3DPToolpathPlanner/data in
# ../shared/data/wireframe). Needs Debian bookworm's prusa-slicer 2.5.0+dfsg-4
# installed (apt-get install --no-install-recommends prusa-slicer); the output
# differs from the committed files only in the timestamp of the first line.
set -euo pipefail
src=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 "$here/../cura4/obj2stl.py" "$src/Duck_wireframe.obj" duck12.stl 12
prusa-slicer -g --center 110,110 --gcode-flavor marlin2 \
	--machine-max-acceleration-extruding 500 --machine-max-acceleration-travel 700 \
	--machine-max-acceleration-retracting 1000 --machine-max-acceleration-x 600 \
	--machine-max-acceleration-y 600 --machine-max-jerk-x 8 --machine-max-jerk-y 8 \
	--machine-max-feedrate-x 300 --machine-max-feedrate-y 300 \
	duck12.stl -o "$here/duck12_prusaslicer-2.5.0_marlin2-limits.gcode"
prusa-slicer -g --center 110,110 --gcode-flavor reprapfirmware --use-firmware-retraction \
	--support-material duck12.stl -o "$here/duck12_prusaslicer-2.5.0_rrf-fwretract-support.gcode"
