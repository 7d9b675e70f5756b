#!/usr/bin/env bash
# Builds kormo with the CUDA backend for an H100/H200 (sm_90) machine and packs what that
# machine lacks into .gpu/ (keep it out of git: add `.gpu/` to .git/info/exclude):
#   .gpu/bin/kormo, .gpu/bin/kormo_cuda_tests   stripped binaries (portable x86-64-v3 code)
#   .gpu/lib/                                   the non-system libraries they load (oneDNN, fmt, …;
#                                               those over 8 MiB xz-compressed, unpacked by gpu-check.sh)
#   .gpu/compat/libstdc++.so.6                  used only where the machine's libstdc++ is older
# The GPU machine must have the NVIDIA driver and cuBLAS 13 (a CUDA 13 toolkit or the
# nvidia-cublas Python wheel); scripts/gpu-check.sh finds them. NCCL (~250 MB) is not packed
# either: the NCCL communicator opens libnccl.so.2 at run time, and gpu-check.sh's nccl
# section finds it in a toolkit or the nvidia-nccl-cu13 wheel. Then, there, from the
# repo root: bash scripts/gpu-check.sh
#   bash scripts/gpu-pack.sh          # build in build-gpu/, pack into .gpu/
set -euo pipefail
cd "$(dirname "$0")/.."

command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] || { echo "gpu-pack: no nvcc (CUDA toolkit) here"; exit 1; }
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH

cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKORMO_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DKORMO_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3 >/dev/null
cmake --build build-gpu --target kormo kormo_cuda_tests

rm -rf .gpu
mkdir -p .gpu/bin .gpu/lib .gpu/compat
cp build-gpu/kormo build-gpu/tests/kormo_cuda_tests .gpu/bin/
strip .gpu/bin/*
# Every library the binaries load except the C/C++ runtime and the CUDA driver and
# toolkit libraries, which the GPU machine has.
for bin in .gpu/bin/*; do ldd "$bin"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
      linux-vdso* | ld-linux* | libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | libgcc_s.so* | \
        libstdc++.so* | libcuda.so* | libcudart.so* | libcublas*.so*) ;;
      *) cp -L "$path" ".gpu/lib/$name" ;;
    esac
  done
cp -L "$(g++ -print-file-name=libstdc++.so.6)" .gpu/compat/
strip --strip-unneeded .gpu/lib/* .gpu/compat/*
git rev-parse --short=12 HEAD >.gpu/COMMIT

glibc=$(objdump -T .gpu/bin/* .gpu/lib/* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
# Libraries over 8 MiB (oneDNN, ~40 MB) travel xz-compressed, so that .gpu with the repo
# stays under the 64 MiB a device call carries; gpu-check.sh unpacks them (python3's lzma).
for f in .gpu/lib/*; do
  if (($(stat -c %s "$f") > 8 << 20)); then xz -T2 -6 "$f"; fi
done

echo "gpu-pack: .gpu/ holds $(du -sh .gpu | cut -f1):"
ls -l .gpu/bin .gpu/lib .gpu/compat | sed 's/^/  /'
echo "gpu-pack: the GPU machine needs ${glibc:-GLIBC_?} or newer, the NVIDIA driver and libcublas.so.13"
size_kb=$(du -sk .gpu | cut -f1)
if ((size_kb > 60 * 1024)); then
  echo "gpu-pack: .gpu is over 60 MiB (${size_kb} KiB): too big to carry"
  exit 1
fi
