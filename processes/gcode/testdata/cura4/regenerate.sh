#!/bin/bash
# Regenerates the CuraEngine 4.13 fixtures of this directory (see SOURCES.md).
# Usage: regenerate.sh DIR-WITH-Bunny_wireframe.obj-AND-Duck_wireframe.obj
# (RL3DPToolpathPlanner/data in ../shared/data/wireframe). Needs apt-get download
# and dpkg -x (no installation): Debian bookworm cura-engine 1:4.13.0-1+b1,
# cura 4.13.0-1 (printer definitions), libpolyclipping22, libarcus3, libprotobuf32.
set -euo pipefail
src=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download cura-engine cura libpolyclipping22 libarcus3 libprotobuf32 >/dev/null
for d in *.deb; do dpkg -x "$d" root; done
R=$work/root
export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu
export CURA_ENGINE_SEARCH_PATH=$R/usr/share/cura/resources/definitions:$R/usr/share/cura/resources/extruders
slice() { # out.gcode model.stl settings... (DEF=printer definition, default creality_ender3)
	local out=$1 model=$2
	shift 2
	local s=()
	for kv in "$@"; do s+=(-s "$kv"); done
	"$R/usr/bin/CuraEngine" slice -j "$R/usr/share/cura/resources/definitions/${DEF:-creality_ender3}.def.json" \
		-s center_object=false "${s[@]}" -l "$model" -o "$out" >"$out.log" 2>&1
	# The Cura front end fills in the profile's end G-code placeholders; the engine alone does not.
	sed -i 's/{machine_depth}/235/' "$out"
}
python3 "$here/obj2stl.py" "$src/Bunny_wireframe.obj" bunny15.stl 15
python3 "$here/obj2stl.py" "$src/Duck_wireframe.obj" duck12.stl 12
python3 "$here/multi.py" duck12.stl ducks4.stl 2 2 30
slice bunny15_cura4.13.gcode bunny15.stl mesh_position_x=110 mesh_position_y=110
slice ducks4_cura4.13_accel-jerk.gcode ducks4.stl acceleration_enabled=true jerk_enabled=true \
	mesh_position_x=90 mesh_position_y=90 layer_height=0.2
DEF=ultimaker2 slice duck12_cura4.13_ultimaker2-ultigcode.gcode duck12.stl mesh_position_x=110 mesh_position_y=110
cp bunny15_cura4.13.gcode ducks4_cura4.13_accel-jerk.gcode duck12_cura4.13_ultimaker2-ultigcode.gcode "$here/"
