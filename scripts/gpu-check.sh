#!/usr/bin/env bash
# The GPU device check (issue 21) in one call, for a machine with a GPU and no Rust
# toolchain: a release binary built elsewhere (strip it to carry it) does everything.
#
#     scripts/gpu-check.sh [PDENET] [OUT.json]
#
# PDENET defaults to target/release/pdenet; OUT.json to $OUT/gpu-check.json (the
# device tool's output folder) or ./gpu-check.json. Steps, each under a time limit, each
# recorded whether it passes or fails (one failure does not stop the rest):
#   1. the adapter (`nvidia-smi -L` where it exists, and the adapter pdenet opens), after
#      unpacking the Vulkan loader that scripts/gpu-check-prepare.sh left in .device/gl
#      where the machine has none;
#   2. correctness: `pdenet compare` of the GPU engine against the f64 interpreter on
#      Burgers (QRes and MLP) and Schrödinger, in f32 and f64;
#   3. speed: `pdenet bench --backend gpu --json` on Burgers QRes and MLP at N_f = 10 000
#      and 1 000 000 (a 3-epoch warm-up there), each followed by the PyTorch reference
#      on CUDA for the same case (bench/burgers_torch.py --device cuda, where python3
#      has torch with CUDA), and on Schrödinger, in f32 and f64 (Adam on the device);
#   4. the designs compared: Burgers QRes at the small N_f with Adam on the host, and
#      at the large N_f in f32 with pass 2 per output instead of tiled and with pass 1
#      reading θ from its buffer instead of workgroup memory;
#   5. the dense quasi-Newton update (SSBroyden's pass over H) with H on the host and
#      on the device, at the orders of Burgers' QRes (1 541) and MLP (3 021) and of an
#      MLP 50×4 (7 851);
#   6. a short `pdenet run` of Burgers QRes in f64 on the GPU (Adam, then SSBroyden with
#      H placed by its timing): each phase's milliseconds and evaluations per iteration.
# Everything lands in one JSON file (format pdenet-gpu-check/1).
#
# GPU_CHECK_SCALE=small rehearses it on a software adapter (lavapipe): N_f 2 000 and
# 20 000 instead of 10 000 and 1 000 000, 200 points per set in the comparisons, fewer
# epochs. GPU_CHECK_SCALE=tiny (the CI test) keeps Burgers QRes only.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/release/pdenet}
# A carried file may arrive without its mode bits.
[ -f "$bin" ] && [ ! -x "$bin" ] && chmod +x "$bin"
out=${2:-${OUT:-.}/gpu-check.json}
scale=${GPU_CHECK_SCALE:-full}
limit=${GPU_CHECK_STEP_SECONDS:-60}
# The whole check stays under this many seconds (a task's device time is short): a
# step that would start later is recorded as skipped (exit 125), and each step's own
# limit is cut to what is left.
budget=${GPU_CHECK_SECONDS:-210}
started=$(date +%s)
case "$scale" in
    full) small=10000 large=1000000 points="" epochs=20 big_epochs=3 iterations=100 ;;
    small) small=2000 large=20000 points="--points 200" epochs=5 big_epochs=2 iterations=10 ;;
    tiny) small=500 large="" points="--points 100" epochs=2 big_epochs=0 iterations=3 ;;
    *) echo "GPU_CHECK_SCALE must be full, small or tiny" >&2; exit 2 ;;
esac
steps=$(mktemp -d)
n=0

# step NAME COMMAND...: runs it under the time limit; keeps its output, status, time.
step() {
    local name=$1
    shift
    n=$((n + 1))
    local dir="$steps/$(printf %03d $n)"
    mkdir -p "$dir"
    printf '%s\n' "$name" >"$dir/name"
    printf '%q ' "$@" >"$dir/cmd"
    local t0 t1 left
    left=$((budget - ($(date +%s) - started)))
    [ "$left" -gt "$limit" ] && left=$limit
    t0=$(date +%s%N)
    if [ "$left" -gt 0 ]; then
        timeout "$left" "$@" >"$dir/stdout" 2>"$dir/stderr"
        echo $? >"$dir/rc"
    else
        : >"$dir/stdout"
        echo "skipped: the check's $budget s were spent" >"$dir/stderr"
        echo 125 >"$dir/rc"
    fi
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >"$dir/seconds"
    echo "gpu-check: $name: exit $(cat "$dir/rc") in $(cat "$dir/seconds") s" >&2
}

# The Vulkan loader and libglvnd, where the machine lacks either:
# scripts/gpu-check-prepare.sh leaves their packages in .device/gl (the device tool's
# recipe unpacks such packages into /). The NVIDIA driver's ICD, where the loader's own folders do not name it, and
# its library's folder, where the dynamic linker's cache does not hold it. Then what
# that library still cannot find, for the record (a check that finds no adapter says
# why there).
# (grep reads all of the list: with pipefail, an early exit would fail ldconfig.)
has() { ldconfig -p | grep "$1 " >/dev/null; }
if ! has 'libvulkan\.so\.1' || ! has 'libGLdispatch\.so\.0'; then
    for f in .device/gl/*.deb; do
        [ -e "$f" ] && step "vulkan-loader $(basename "$f")" dpkg -x "$f" /
    done
    ldconfig
fi
nvidia=/usr/local/nvidia
icd=$nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$icd" ] \
    && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$icd
    echo "gpu-check: the NVIDIA driver's Vulkan ICD from $icd" >&2
fi
if ! has 'libGLX_nvidia\.so\.0' && [ -e "$nvidia/lib64/libGLX_nvidia.so.0" ]; then
    export LD_LIBRARY_PATH=$nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    echo "gpu-check: the NVIDIA driver's libraries from $nvidia/lib64" >&2
fi
glx=$( (ldconfig -p; ls "$nvidia"/lib64/libGLX_nvidia.so.0 2>/dev/null) \
    | grep -o '/[^ ]*libGLX_nvidia\.so\.0$' | head -n 1)
[ -n "$glx" ] && step vulkan-icd-libraries ldd "$glx"
if command -v nvidia-smi >/dev/null; then
    step adapter-nvidia-smi nvidia-smi -L
fi

files="examples/burgers.pde examples/burgers_pinn.pde examples/schrodinger.pde"
[ "$scale" = tiny ] && files="examples/burgers.pde"
for f in $files; do
    for p in f32 f64; do
        # shellcheck disable=SC2086
        step "compare $(basename "$f" .pde) $p" "$bin" compare "$f" --backend gpu \
            --precision "$p" --json $points --data-dir examples/data
    done
done

bench() { # NAME FILE NF EPOCHS PRECISION [ENV=VALUE]
    local set=() warm=()
    [ -n "$3" ] && set=(--set "sample.collocation=$3")
    # A large problem gets a short warm-up: the check's minutes are few.
    [ -n "$large" ] && [ "$3" = "$large" ] && warm=(--warmup 3)
    # shellcheck disable=SC2086 # $6, when given, is one VAR=VALUE for env
    step "bench $1 $5" env ${6:-} "$bin" bench "$2" "${set[@]}" "${warm[@]}" --backend gpu \
        --json --epochs "$4" --precision "$5" --no-hessian --data-dir examples/data
}
cuda=no
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    cuda=yes
else
    echo "gpu-check: no torch with CUDA here; the PyTorch reference is skipped" >&2
fi
torch() { # NET NF EPOCHS PRECISION: the reference right after pdenet's same case
    [ "$cuda" = yes ] || return 0
    local f64=()
    [ "$4" = f64 ] && f64=(--f64)
    step "torch burgers-$1 nf=$2 $4" python3 bench/burgers_torch.py --device cuda \
        --mode speed --net "$1" --nf "$2" --epochs "$3" "${f64[@]}"
}
# The targets' cases first, each beside its PyTorch reference, so that a check cut
# short by its budget still has whole ratios; then the comparisons that decide
# between designs (Adam's update on the host, pass 2 per output, θ read from its
# buffer).
nets=(qres mlp)
burgers=(examples/burgers.pde examples/burgers_pinn.pde)
for p in f32 f64; do
    for nf in $small $large; do
        timed=$epochs
        [ "$nf" = "$large" ] && timed=$big_epochs
        for k in 0 1; do
            [ "$scale" = tiny ] && [ "$k" = 1 ] && continue
            bench "burgers-${nets[$k]} nf=$nf" "${burgers[$k]}" "$nf" "$timed" "$p"
            torch "${nets[$k]}" "$nf" "$timed" "$p"
        done
    done
    [ "$scale" = tiny ] || bench "schrodinger" examples/schrodinger.pde "" "$epochs" "$p"
done
if [ "$scale" != tiny ]; then
    for p in f32 f64; do
        bench "burgers-qres nf=$small host-adam" examples/burgers.pde "$small" "$epochs" "$p" \
            PDENET_GPU_ADAM=host
    done
    bench "burgers-qres nf=$large outputs-reduce" examples/burgers.pde "$large" "$big_epochs" \
        f32 PDENET_GPU_REDUCE=outputs
    bench "burgers-qres nf=$large storage-theta" examples/burgers.pde "$large" "$big_epochs" \
        f32 PDENET_GPU_THETA=storage
fi

dense_h() { # NAME FILE [--set ...]: a short f64 bench that times the dense update too,
    # with H on the host and (forced, as a software adapter would not) on the device
    local name=$1 file=$2
    shift 2
    step "bench $name f64 dense-h" env PDENET_GPU_MATRIX=device "$bin" bench "$file" \
        --set "sample.collocation=$small" "$@" --backend gpu --json --epochs 2 --warmup 2 \
        --precision f64 --data-dir examples/data
}
dense_h "burgers-qres nf=$small" examples/burgers.pde
if [ "$scale" != tiny ]; then
    dense_h "burgers-mlp nf=$small" examples/burgers_pinn.pde
    dense_h "burgers-mlp50x4 nf=$small" examples/burgers_pinn.pde \
        --set network.width=50 --set network.depth=4
fi

# A short training run as a user makes it, Burgers QRes in f64 on the GPU: Adam, then
# SSBroyden with H where the timing at its start puts it. Its phases' seconds per
# iteration, against the evaluations' and the H pass's figures above, say what a
# dense iteration spends beyond them (the host's line search, the round trips).
run_dir=$(mktemp -d)
step "run burgers-qres nf=$small f64 dense-phase" bash -c '"$1" run examples/burgers.pde \
    --backend gpu --precision f64 --epochs "$2" --set "sample.collocation=$3" --quiet \
    --error-every 0 --out "$4" --data-dir examples/data >&2 &&
    python3 -c "import json, sys; r = json.load(open(sys.argv[1]));
print(json.dumps({k: r[k] for k in (\"adapter\", \"phases\")}))" "$4/report.json"' \
    _ "$bin" "$iterations" "$small" "$run_dir"

python3 - "$steps" "$out" "$scale" <<'EOF'
"""Gathers the steps into one JSON: each with its command, exit status, seconds, and
its result (the last line of its output when that is JSON, else the output's end)."""
import datetime, json, os, platform, sys

steps_dir, out, scale = sys.argv[1:4]
steps = []
for d in sorted(os.listdir(steps_dir)):
    at = lambda f: open(os.path.join(steps_dir, d, f)).read()
    lines = at("stdout").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = "\n".join(lines[-20:])
    steps.append({
        "name": at("name").strip(),
        "command": at("cmd").strip(),
        "exit": int(at("rc")),
        "seconds": float(at("seconds")),
        "result": result,
        "stderr": at("stderr")[-2000:],
    })
check = {
    "format": "pdenet-gpu-check/1",
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": platform.node(),
    "scale": scale,
    "steps": steps,
    "failed": [s["name"] for s in steps if s["exit"] != 0],
}
with open(out, "w") as f:
    json.dump(check, f, indent=1)
print(f"gpu-check: {len(steps)} steps, {len(check['failed'])} failed -> {out}")
for s in steps:
    r = s["result"] if isinstance(s["result"], dict) else {}
    what = r.get("adam_epoch_ms_median", r.get("adam_epoch_ms", r.get("rel_grad", "")))
    split = r.get("split_ms") or {}
    if "pass1" in split:
        what = f"{what} ({', '.join(f'{k} {v:.3g}' for k, v in split.items())})"
    if r.get("hessian_update_ms") is not None:
        device = r.get("hessian_update_device_ms")
        device = "none" if device is None else f"{device:.3g} ms"
        what = f"{what}; H of order {r['parameters']}: host {r['hessian_update_ms']:.3g} ms, " \
            f"device {device}"
    for ph in r.get("phases") or []:
        ms = ph["seconds"] * 1e3 / max(ph["iterations"], 1)
        evals = ph["evaluations"] / max(ph["iterations"], 1)
        what = f"{what}{'; ' if what else ''}{ph['phase']} {ms:.3g} ms/iteration, " \
            f"{evals:.2g} evaluations/iteration, update on {ph['update']}"
        if ph.get("pass_ms"):
            what += f" (pass host {ph['pass_ms']['host']:.3g} ms, device {ph['pass_ms']['device']:.3g} ms)"
    print(f"  {s['name']:<46} exit {s['exit']:>3} {s['seconds']:7.1f} s  {what}")
EOF
