#!/usr/bin/env bash
# Gets the GPU device check (scripts/gpu-check.sh) ready to travel, here, where there
# is a Rust toolchain and a package index: a lent GPU machine has neither, and its
# minutes are too few to spend on anything but the check.
#
#     scripts/gpu-check-prepare.sh
#
# Leaves in .device/ (ignored by git): `pdenet`, the release binary stripped (about
# 18 MB), and `gl/`, the Debian packages for amd64 of the Vulkan loader and of the GL
# dispatch libraries (libglvnd) that NVIDIA's Vulkan driver library needs,
# which gpu-check.sh unpacks where the machine lacks them. Then carry `.device` and run
# `bash scripts/gpu-check.sh .device/pdenet` there, in one call.
set -euo pipefail
cd "$(dirname "$0")/.."

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >>"$exclude"

cargo build --release --quiet
mkdir -p .device/gl
strip -o .device/pdenet target/release/pdenet

# wgpu opens libvulkan.so.1, which opens the library the driver's ICD file names
# (libGLX_nvidia.so.0, a libglvnd vendor library, which needs libGLdispatch.so.0):
# the device tool's recipe (its README), seen running Vulkan there, carries these
# seven.
lists=$(mktemp -d)
mkdir -p "$lists/partial"
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt[@]}" update -qq
(cd .device/gl && rm -f ./*.deb && apt-get "${apt[@]}" download -qq \
    libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
rm -rf "$lists"

echo "ready: $(du -sh .device | cut -f1) in .device/ ($(ls .device/gl | wc -l) packages in gl/)"
echo "device call: carry [\".device\"], command: bash scripts/gpu-check.sh .device/pdenet"
