#!/usr/bin/env bash
# On the GPU machine lent by `device`, in the repository root (see bench/gpu/README.md):
#   bash bench/gpu/run.sh receive-a          # call 1, carrying .gpu/a
#   bash bench/gpu/run.sh ladder ARGS...     # call 2 (machine still warm), carrying .gpu/b
#   bash bench/gpu/run.sh ladders K PREFIX ARGS...  # or K ladders at once, sharing the GPU
#   bash bench/gpu/run.sh profile ARGS...    # or one pass piece by piece (bench/pass_profile.py)
# The whole node (gRPC, embedded broker, store) instead of the engine alone, in three calls:
#   bash bench/gpu/run.sh receive-a          # call 1, carrying .gpu/a
#   bash bench/gpu/run.sh receive-b          # call 2, carrying .gpu/b
#   bash bench/gpu/run.sh node-ladder ARGS...  # call 3, carrying .gpu/c: bench/ladder_bench.py
#   bash bench/gpu/run.sh node-admission ARGS... # or call 3: bench/admission_ab.py on the card
set -euo pipefail
# STENOGRAPH_GPU_STAGE and STENOGRAPH_GPU_DEVICE=cpu let the same steps be tried here first,
# with a Python 3.12 that has only what the GPU machine has (bench/gpu/README.md).
STAGE=${STENOGRAPH_GPU_STAGE:-/tmp/stenograph-gpu}
DEVICE=${STENOGRAPH_GPU_DEVICE:-cuda}
SITE=$STAGE/site

cuda_libs() {
  # CTranslate2's wheel loads libcublas.so.12 (CUDA 12); the machine's PyTorch brings cuBLAS 13.
  # The functions CTranslate2 takes from it (cublasGemmEx, cublasGemmStridedBatchedEx,
  # cublasSgemm_v2, handle and stream calls) kept their signatures in 13, so where no
  # libcublas.so.12 exists, the 13 library is offered under that name.
  local twelve thirteen
  twelve=$(find /opt /usr -name 'libcublas.so.12*' 2>/dev/null | head -1 || true)
  mkdir -p "$STAGE/cuda"
  if [ -n "$twelve" ]; then
    echo "cuBLAS 12: $twelve"
    export LD_LIBRARY_PATH="$(dirname "$twelve")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    thirteen=$(find /opt /usr -name 'libcublas.so.13*' 2>/dev/null | head -1)
    echo "no cuBLAS 12; offering $thirteen as libcublas.so.12"
    ln -sf "$thirteen" "$STAGE/cuda/libcublas.so.12"
    export LD_LIBRARY_PATH="$STAGE/cuda:$(dirname "$thirteen")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
}

receive_b() {
  # Call 2: the model's second half, the pure-Python wheels, the VAD and the clips.
  if [ ! -d .gpu/b ]; then
    test -f "$STAGE/tiny.en/model.bin" || { echo "receive-b did not run on this machine"; exit 3; }
    return
  fi
  test -f "$STAGE/model.bin.00" || { echo "call 1 (receive-a) did not run on this machine"; exit 3; }
  mkdir -p "$STAGE/tiny.en"
  cat "$STAGE/model.bin.00" .gpu/b/model/model.bin.01 > "$STAGE/tiny.en/model.bin"
  cp .gpu/b/model/config.json .gpu/b/model/tokenizer.json .gpu/b/model/vocabulary.txt "$STAGE/tiny.en/"
  cp .gpu/b/clips.npz "$STAGE/"
  python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --target "$SITE" .gpu/b/wheels/*.whl
  cp -r .gpu/b/silero_vad "$SITE/"
  # PyAV has no wheel here: faster-whisper and streaming/audio.py import it, but the ladder
  # feeds decoded PCM and never calls it. Any use fails loudly.
  mkdir -p "$SITE/av"
  printf '%s\n' '"""Stand-in: PyAV is not installed on this machine."""' \
    'def __getattr__(name):' '    raise ImportError(f"PyAV is not installed here (av.{name})")' \
    > "$SITE/av/__init__.py"
}

engine_env() {
  if [ "$DEVICE" = cuda ]; then cuda_libs; fi
  export PYTHONPATH=$SITE PYTHONUNBUFFERED=1
}

node_env() {
  # Call 3 of the node's steps: its own packages (gRPC, aiokafka, the Tansu broker,
  # SQLAlchemy, ...) on top of the engine's, and the repository's modules on the path.
  receive_b
  python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --target "$SITE" .gpu/c/wheels/*.whl
  engine_env
  export PYTHONPATH=$SITE:$PWD:$PWD/clients/python
}

case "${1:-}" in
receive-a)
  mkdir -p "$SITE"
  tar xJf .gpu/a/ctranslate2.tar.xz -C "$SITE"
  mv .gpu/a/model.bin.00 "$STAGE/"
  python3 -V
  if [ "$DEVICE" = cuda ]; then nvidia-smi -L && cuda_libs; fi
  PYTHONPATH=$SITE python3 -c 'import ctranslate2 as c; print("ctranslate2", c.__version__,
    "cuda devices", c.get_cuda_device_count(), sorted(c.get_supported_compute_types("cuda")))'
  ;;
receive-b)
  receive_b
  ls -la "$STAGE" "$STAGE/tiny.en"
  ;;
node-ladder)
  # Call 3: the stream ladder against a real `stenograph up` on the card.
  shift
  node_env
  python3 bench/ladder_bench.py --systems stenograph --skip-upload --skip-overload \
    --clips "$STAGE/clips.npz" --model "$STAGE/tiny.en" --device "$DEVICE" "$@"
  ;;
node-admission)
  # Call 3 instead: overloads of a node on the card with different admission settings.
  shift
  node_env
  python3 bench/admission_ab.py --clips "$STAGE/clips.npz" --node-setting "model=$STAGE/tiny.en" \
    --node-setting "device=$DEVICE" "$@"
  ;;
ladder | ladders)
  # ladders K PREFIX ARGS...: K ladders at once, as K node processes would share one card,
  # each writing PREFIX-pI.{json,md}.
  mode=$1
  shift
  receive_b
  engine_env
  ladder=(python3 bench/engine_ladder.py --clips "$STAGE/clips.npz" --model "$STAGE/tiny.en"
    --device cuda --compute-type float16)
  if [ "$mode" = ladder ]; then
    "${ladder[@]}" "$@"
  else
    count=$1 prefix=$2
    shift 2
    pids=()
    for i in $(seq 1 "$count"); do
      "${ladder[@]}" "$@" --out "$prefix-p$i" > "$STAGE/ladder-p$i.log" 2>&1 &
      pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
    tail -n 40 "$STAGE"/ladder-p*.log
    exit $status
  fi
  ;;
profile)
  shift
  receive_b
  engine_env
  python3 bench/pass_profile.py --clips "$STAGE/clips.npz" --model "$STAGE/tiny.en" \
    --device cuda --compute-type float16 "$@"
  ;;
*)
  echo "usage: $0 receive-a | receive-b | node-ladder ARGS... | node-admission ARGS... |" \
    "ladder ARGS... |" \
    "ladders K PREFIX ARGS... | profile ARGS..." >&2
  exit 2
  ;;
esac
