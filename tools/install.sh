#!/usr/bin/env bash
# Install mmkd-invproj and its OpenMMLab stack into the *active* Python environment.
#
#   bash tools/install.sh
#
# What it does, in order:
#   1. torch 2.14.1 + torchvision 0.29.1 (override with TORCH_SPEC / TORCHVISION_SPEC).
#   2. MMCV 2.1.0 *with its ops* (mmsegmentation 1.2.2 imports mmcv.ops, so mmcv-lite is
#      not enough). Against torch >= 2.5 the build needs C++20, but mmcv's setup.py forces
#      -std=c++14/17, so the sdist is patched; the build also needs setuptools<70 (it
#      imports pkg_resources) and --no-build-isolation (it imports torch). The wheel is
#      kept in $MMKD_WHEEL_CACHE, so a second run installs in seconds. CUDA ops are built
#      when a GPU is visible (or FORCE_CUDA=1).
#   3. mmengine 0.10.7, mmsegmentation 1.2.2, mmdet 3.3.0, timm and the runtime
#      requirements, then this package in editable mode with its test requirements.
#
# Environment knobs: MMKD_WHEEL_CACHE (default ~/.cache/mmkd_invproj/wheels),
# MAX_JOBS (compiler jobs, default: number of cores), FORCE_CUDA=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
PIP=("$PY" -m pip)
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1}"
TORCHVISION_SPEC="${TORCHVISION_SPEC:-torchvision==0.29.1}"
MMCV_VERSION="2.1.0"
WHEEL_CACHE="${MMKD_WHEEL_CACHE:-$HOME/.cache/mmkd_invproj/wheels}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

log() { printf '[install] %s\n' "$*"; }

log "python: $("$PY" --version 2>&1) at $(command -v "$PY")"

# ---------------------------------------------------------------- 1. torch
if "$PY" - "$TORCH_SPEC" "$TORCHVISION_SPEC" <<'EOF' 2>/dev/null; then
import sys, torch, torchvision
want_t = sys.argv[1].split('==')[-1]; want_v = sys.argv[2].split('==')[-1]
ok = torch.__version__.split('+')[0] == want_t and torchvision.__version__.split('+')[0] == want_v
sys.exit(0 if ok else 1)
EOF
  log "torch/torchvision already installed"
else
  log "installing $TORCH_SPEC $TORCHVISION_SPEC"
  "${PIP[@]}" install "$TORCH_SPEC" "$TORCHVISION_SPEC"
fi

# ---------------------------------------------------------------- 2. mmcv with ops
mmcv_ok() {
  "$PY" - "$MMCV_VERSION" <<'EOF' 2>/dev/null
import sys, mmcv
from mmcv.ops import nms  # noqa: F401  (needs the compiled mmcv._ext)
sys.exit(0 if mmcv.__version__ == sys.argv[1] else 1)
EOF
}

if mmcv_ok; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  with_cuda=0
  if [ "${FORCE_CUDA:-0}" = "1" ] || "$PY" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    with_cuda=1
  fi
  tag="$("$PY" -c "import torch,sys; print(f'torch{torch.__version__.split(\"+\")[0]}-py{sys.version_info[0]}{sys.version_info[1]}')")-cuda${with_cuda}"
  cache_dir="$WHEEL_CACHE/$tag"
  wheel="$(ls "$cache_dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    log "building mmcv $MMCV_VERSION with ops from source (cuda=$with_cuda, MAX_JOBS=$MAX_JOBS); about 12 min on 2 cores"
    # mmcv's setup.py imports pkg_resources and needs an old setuptools to build;
    # torch 2.14 declares setuptools>=77 (pip prints a resolver warning meanwhile;
    # step 3 moves setuptools back into the range both accept).
    "${PIP[@]}" install "setuptools<70" wheel ninja
    build="$(mktemp -d)"
    trap 'rm -rf "$build"' EXIT
    "${PIP[@]}" download --no-deps --no-build-isolation --no-binary :all: \
      "mmcv==$MMCV_VERSION" -d "$build"
    tar -xzf "$build/mmcv-$MMCV_VERSION.tar.gz" -C "$build"
    src="$build/mmcv-$MMCV_VERSION"
    # torch >= 2.5 headers need C++20; mmcv 2.1.0 hard-codes c++14/c++17.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
           -e 's#/std:c++14#/std:c++20#g' -e 's#/std:c++17#/std:c++20#g' "$src/setup.py"
    mkdir -p "$cache_dir"
    ( cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA="$with_cuda" \
        "${PIP[@]}" wheel --no-deps --no-build-isolation -w "$cache_dir" . )
    wheel="$(ls "$cache_dir"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
  else
    log "using cached mmcv wheel $wheel"
  fi
  "${PIP[@]}" install --no-build-isolation --force-reinstall --no-deps "$wheel"
  # mmcv's own runtime dependencies (without letting pip touch torch).
  "${PIP[@]}" install addict "mmengine==0.10.7" numpy packaging Pillow pyyaml yapf opencv-python
  mmcv_ok || { echo "[install] ERROR: mmcv.ops does not import after the build" >&2; exit 1; }
fi

# ---------------------------------------------------------------- 3. OpenMMLab + this package
# setuptools>=77,<81: torch 2.14 asks for >=77, and mmengine 0.10.7 imports
# pkg_resources at run time (config `mmseg::` paths), which setuptools 81 removed.
log "installing mmengine, mmsegmentation, mmdet, timm and runtime requirements"
"${PIP[@]}" install --no-build-isolation \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/mminstall.txt" \
  "$TORCH_SPEC" "$TORCHVISION_SPEC"
# One OpenCV. mmcv and mmengine require opencv-python; opencv-python-headless (which
# earlier versions of this script installed) ships the same cv2/ folder, so removing
# it deletes files of opencv-python too: reinstall that one afterwards.
if "${PIP[@]}" show opencv-python-headless >/dev/null 2>&1; then
  log "removing opencv-python-headless (opencv-python, which mmcv/mmengine require, provides cv2)"
  "${PIP[@]}" uninstall -y opencv-python-headless
  cv_version="$("$PY" -c "import importlib.metadata as m; print(m.version('opencv-python'))")"
  "${PIP[@]}" install --force-reinstall --no-deps "opencv-python==$cv_version"
fi
log "installing mmkd-invproj (editable) with test requirements"
"${PIP[@]}" install --no-build-isolation --no-deps -e "$ROOT"
"${PIP[@]}" install -r "$ROOT/requirements/tests.txt"

"$PY" - <<'EOF'
import importlib.metadata as metadata
import cv2, mmcv, mmengine, mmseg, mmdet, timm, torch, torchvision
import pkg_resources  # noqa: F401  (mmengine imports it for `mmseg::` config paths)
import torch.utils.tensorboard  # noqa: F401  (MMEngine's TensorboardVisBackend)
from mmcv.ops import nms  # noqa: F401
import mmkd_invproj
opencv = sorted({d.metadata['Name'] for d in metadata.distributions()
                 if (d.metadata['Name'] or '').lower().startswith('opencv')})
assert opencv == ['opencv-python'], f'one OpenCV distribution expected, found {opencv}'
print('[install] ok: torch', torch.__version__, '| torchvision', torchvision.__version__,
      '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__,
      '| mmseg', mmseg.__version__, '| mmdet', mmdet.__version__, '| timm', timm.__version__,
      '| opencv', cv2.__version__, '| mmkd_invproj', mmkd_invproj.__version__)
EOF
