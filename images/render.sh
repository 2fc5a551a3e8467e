#!/bin/sh
# Renders the SVG sources to the committed PNGs. Run it once after editing an SVG; CI does not
# need it. Needs rsvg-convert (Debian: apt-get install -y librsvg2-bin).
set -eu
cd "$(dirname "$0")"
command -v rsvg-convert >/dev/null || { echo "rsvg-convert missing: apt-get install -y librsvg2-bin" >&2; exit 1; }
rsvg-convert -w 128 -h 128 src/extension-icon.svg -o extension-icon.png
for task in GenerateManifests UpdateImageTag PromoteContainer; do
  rsvg-convert -w 32 -h 32 "src/$task.svg" -o "../tasks/$task/icon.png"
done
for diagram in manifest-generation image-tag-update container-promotion classic-release-pipeline classic-release-task; do
  rsvg-convert "$diagram.svg" -o "$diagram.png"
done
echo "rendered icons and diagrams"
