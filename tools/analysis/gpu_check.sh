#!/usr/bin/env bash
# Benchmark cross-task distillation at the paper's scale on a GPU, in one go:
# MobileNetV2-0.5 depth student, ViT-B/16 teacher (configs/depth/mbv2_cls_teacher_inv.py,
# random teacher weights: the timing does not depend on them), 480 x 640 input, batch 16,
# AMP (bfloat16 autocast). Prints images per second and peak memory of the student alone
# and of the distillation step, then the same with the teacher kept in bfloat16
# (teacher_dtype='bfloat16'), and the benchmark's ratio line.
#
#   bash tools/analysis/gpu_check.sh [--dry-run] [--wheels DIR] [--out DIR]
#   bash tools/analysis/gpu_check.sh --prepare-wheels DIR      # on a machine with PyPI
#
# Environment, first that applies:
#   1. torch, torchvision, timm, mmengine, mmcv (importing mmcv.ops) and mmseg import: used as is.
#   2. a folder of wheels (--wheels DIR, default .whl/ in the repo, made by --prepare-wheels
#      on a machine with PyPI): installed offline into a private folder
#      ($MMKD_SITE, default /tmp/mmkd_site) on PYTHONPATH, without touching torch. These
#      are pure-Python wheels: mmengine, mmsegmentation, mmcv-lite 2.1.0 (MMCV without
#      compiled ops: PyPI has no mmcv 2.1.0 wheels for current torch builds, and building
#      MMCV's CUDA ops takes far longer than a benchmark) and their small dependencies.
#      mmseg imports mmcv.ops at import time, so a stand-in `mmcv/_ext.py` is written into
#      that private folder: importing works, calling any MMCV op raises. The benchmarked
#      models (MMSeg's MobileNetV2, the SkipDecoderDepthHead, torchvision's ViT) call none.
#   3. PyPI reachable: `bash tools/install.sh` with the torch already installed (it builds
#      MMCV with CUDA ops when a GPU is visible: slow, see README "Install").
#   4. otherwise it stops and says how to bring the wheels.
#
# --dry-run: everything except the GPU: the environment steps, then the same benchmark
# commands on the CPU at tiny sizes (batch 2, 64 x 96, 1 + 2 rounds), so the script can be
# checked on a machine without a GPU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || PY=python
SITE="${MMKD_SITE:-/tmp/mmkd_site}"
WHEELS="$ROOT/.whl"
OUT_DIR="${OUT:-$ROOT/work_dirs/gpu_check}"
DRY=0
PREPARE=""

# pure-Python wheels for step 2 (versions as in requirements/, deps of mmengine/mmseg/mmcv
# that a bare PyTorch image may lack; setuptools<81 keeps pkg_resources for mmengine's
# `mmseg::` config paths)
WHEEL_SPECS=(mmengine==0.10.7 mmsegmentation==1.2.2 mmcv-lite==2.1.0 addict==2.4.0
             yapf==0.43.0 platformdirs==4.14.8 termcolor==3.3.0 prettytable==3.18.0
             wcwidth==0.7.0 ftfy==6.3.1 setuptools==80.10.2)

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
log() { printf '[gpu_check] %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --wheels) WHEELS="$2"; shift ;;
    --out) OUT_DIR="$2"; shift ;;
    --prepare-wheels) PREPARE="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "[gpu_check] unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# ------------------------------------------------------------ --prepare-wheels DIR
if [ -n "$PREPARE" ]; then
  mkdir -p "$PREPARE"
  # all pure-Python (py3-none-any); the target interpreter's version only filters them
  "$PY" -m pip download --no-deps --only-binary=:all: --implementation cp \
    --python-version "${MMKD_WHEEL_PYTHON:-3.12}" --platform any --platform manylinux2014_x86_64 \
    -d "$PREPARE" "${WHEEL_SPECS[@]}"
  log "wheels in $PREPARE ($(du -sh "$PREPARE" | cut -f1)); carry that folder to the GPU machine"
  log "and run: bash tools/analysis/gpu_check.sh --wheels $PREPARE"
  exit 0
fi

# ------------------------------------------------------------ 1-4. environment
stack_ok() {
  "$PY" - <<'EOF' 2>/dev/null
import torch, torchvision, timm, mmengine, mmcv, mmseg  # noqa: F401
import mmcv.ops  # noqa: F401  (mmseg imports it)
EOF
}

install_offline() {
  log "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE (offline, torch untouched)"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  if ! "$PY" -c 'import mmcv.ops' 2>/dev/null; then
    log "mmcv has no compiled ops: writing the stand-in $SITE/mmcv/_ext.py (calling an op raises)"
    cat > "$SITE/mmcv/_ext.py" <<'EOF'
"""Stand-in for MMCV's compiled ops, written by tools/analysis/gpu_check.sh for mmcv-lite.

``import mmcv.ops`` (which mmseg does at import time) succeeds; calling any op raises.
"""


def __getattr__(name):
    if name.startswith('__'):
        raise AttributeError(name)

    def missing(*args, **kwargs):
        raise RuntimeError(f'mmcv op {name!r} is not compiled in this environment (mmcv-lite); '
                           'install MMCV with ops: bash tools/install.sh')
    return missing
EOF
  fi
}

pypi_reachable() {
  "$PY" - <<'EOF' 2>/dev/null
import socket
socket.create_connection(('pypi.org', 443), timeout=5).close()
EOF
}

if stack_ok; then
  log "torch / mmengine / mmcv / mmseg already importable"
elif ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  install_offline
elif pypi_reachable; then
  tv="$("$PY" -c 'import torch, torchvision; print(torch.__version__.split("+")[0], torchvision.__version__.split("+")[0])')"
  log "installing the stack with tools/install.sh around the installed torch ($tv)"
  TORCH_SPEC="torch==${tv% *}" TORCHVISION_SPEC="torchvision==${tv#* }" PYTHON="$PY" \
    bash "$ROOT/tools/install.sh"
else
  echo "[gpu_check] ERROR: mmengine/mmcv/mmseg are missing, no wheels in $WHEELS and no PyPI." >&2
  echo "  On a machine with PyPI: bash tools/analysis/gpu_check.sh --prepare-wheels .whl" >&2
  echo "  then bring .whl/ along (e.g. the device tool's carry) and run this script again." >&2
  exit 1
fi
stack_ok || { echo "[gpu_check] ERROR: the stack still does not import" >&2; exit 1; }

# ------------------------------------------------------------ 5. benchmark
"$PY" - <<'EOF'
import torch, torchvision, mmengine, mmcv, mmseg
print('[gpu_check] torch', torch.__version__, '| torchvision', torchvision.__version__,
      '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__, mmcv.__file__,
      '| mmseg', mmseg.__version__)
print('[gpu_check] device:', torch.cuda.get_device_name(0) if torch.cuda.is_available()
      else 'no GPU visible')
EOF

CONFIG=configs/depth/mbv2_cls_teacher_inv.py
if [ "$DRY" = 1 ]; then
  SIZE=(--batch 2 --input-size 64 96 --warmup 1 --iters 2 --device cpu)
else
  "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || {
    echo "[gpu_check] ERROR: no GPU visible to torch (use --dry-run to check the rest)" >&2; exit 1; }
  SIZE=(--batch 16 --input-size 480 640 --warmup 5 --iters 20 --device cuda)
fi
mkdir -p "$OUT_DIR"
cd "$ROOT"
for variant in float32_teacher bfloat16_teacher; do
  extra=()
  [ "$variant" = bfloat16_teacher ] && extra=(--teacher-dtype bfloat16)
  log "benchmark: $CONFIG, ${SIZE[*]}, --amp, $variant"
  "$PY" tools/analysis/benchmark.py "$CONFIG" "${SIZE[@]}" --amp "${extra[@]}" \
    --json "$OUT_DIR/$variant.json" --cfg-options model.teacher.weights=None \
    2>&1 | tee "$OUT_DIR/$variant.log"
done

"$PY" - "$OUT_DIR" <<'EOF'
import json, os.path as osp, sys
out = sys.argv[1]
print('\n[gpu_check] summary (median step, wall clock; memory = static + step peak)')
print(f'{"variant":<18} {"student img/s":>14} {"distill img/s":>14} {"student MiB":>11} '
      f'{"distill MiB":>12}  ratios')
for variant in ('float32_teacher', 'bfloat16_teacher'):
    with open(osp.join(out, variant + '.json')) as f:
        r = json.load(f)
    med, b, mem = r['medians_s'], r['batch'], r['memory']
    total = lambda k: mem.get(k, {}).get('total')
    fmt = lambda v: 'n/a' if v is None else f'{v:.0f}'
    ratios = ', '.join(f'{k} {v:.3f}' for k, v in r['ratios'].items())
    print(f'{variant:<18} {b / med["a"]:14.1f} {b / med["d"]:14.1f} {fmt(total("a")):>11} '
          f'{fmt(total("d")):>12}  {ratios}')
EOF
