"""Build and install llama-cpp-python for a stated CPU baseline, not for the build machine.

pip's own build of llama-cpp-python compiles with -march=native: the wheel then uses every
instruction the build machine advertises (AMX on some Xeon VMs that trap it) and pip's cache
hands that wheel to the next machine. This script builds instead:

- the wheel with ggml's CPU backend as a loadable module, for x86-64-v3 (AVX2, FMA, F16C, BMI2):
  the minimum CPU of the project (Intel Haswell, 2013, or AMD Zen, 2017, and later);
- one more CPU module from the same source for AVX-512 machines (Ice Lake / Zen 4 level:
  AVX-512 F, CD, BW, DQ, VL, VBMI and VNNI; never AMX), chosen at run time only when the CPU
  advertises those features and a probe run of it survives (assistant/native.py).

Results are cached under ~/.cache/ai-race-assistant/llama/<key>/, where the key is a hash of
the version and every flag, so a build with other flags is never reused by mistake. The
installed library's hash is written to <venv>/share/ai-race-assistant/llama/build.json and
checked at start, so a native wheel that pip installs from its cache is refused with a fix.

    python scripts/build_llama.py            # build if needed, then install into this venv
    python scripts/build_llama.py --variant native-no-amx   # extra module for benchmarks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REVISION = "1"  # bump when the way of building changes
FEATURES = (
    "SSE42 AVX AVX2 BMI2 AVX_VNNI FMA F16C AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 "
    "AMX_TILE AMX_INT8 AMX_BF16"
).split()
BASELINE = ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2")
VARIANTS: dict[str, tuple[str, ...]] = {
    "avx512": (*BASELINE, "AVX512", "AVX512_VBMI", "AVX512_VNNI"),
    # For benchmarks only: what -march=native would give on this CPU, minus AMX.
    "native-no-amx": ("NATIVE",),
}
COMMON = (
    "-DGGML_BACKEND_DL=ON",
    "-DGGML_CPU_ALL_VARIANTS=OFF",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
)
INSTALLED_VARIANTS = ("avx512",)


def cmake_args(features: tuple[str, ...]) -> list[str]:
    args = [*COMMON, "-DGGML_NATIVE=OFF"]
    args += [f"-DGGML_{f}={'ON' if f in features else 'OFF'}" for f in FEATURES]
    if "NATIVE" in features:  # ggml refuses GGML_NATIVE with loadable modules: say it to gcc
        native = "-march=native -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        args += [f"-DCMAKE_C_FLAGS={native}", f"-DCMAKE_CXX_FLAGS={native}"]
    return args


def version() -> str:
    found = re.search(
        r"(?im)^llama[-_]cpp[-_]python==(\S+)$", (ROOT / "constraints.txt").read_text()
    )
    if not found:
        sys.exit("constraints.txt pins no llama_cpp_python version")
    return found.group(1)


def key(ver: str) -> str:
    """What the installed build depends on: the version and every flag of the wheel and of the
    modules installed with it."""
    spec = {"version": ver, "revision": REVISION, "wheel": cmake_args(BASELINE)}
    spec.update({name: cmake_args(VARIANTS[name]) for name in INSTALLED_VARIANTS})
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def module_file(name: str) -> str:
    if name in INSTALLED_VARIANTS:
        return f"libggml-cpu-{name}.so"
    flags = hashlib.sha256(json.dumps(cmake_args(VARIANTS[name])).encode()).hexdigest()[:8]
    return f"libggml-cpu-{name}-{flags}.so"


def cache_dir(ver: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "ai-race-assistant" / "llama" / f"{ver}-{key(ver)}"


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env, cwd=cwd)


def sdist(ver: str, work: Path) -> Path:
    run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"llama-cpp-python=={ver}", "-d", str(work)])  # fmt: skip
    archive = next(work.glob("llama_cpp_python-*.tar.gz"))
    shutil.unpack_archive(archive, work)
    return next(p for p in work.iterdir() if p.is_dir() and p.name.startswith("llama_cpp_python"))


def build_wheel(source: Path, out: Path) -> Path:
    env = dict(os.environ, CMAKE_ARGS=" ".join(cmake_args(BASELINE)), FORCE_CMAKE="1")
    env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(os.cpu_count() or 2)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir",
         str(source), "-w", str(out)], env=env)  # fmt: skip
    return next(out.glob("llama_cpp_python-*.whl"))


def build_module(source: Path, name: str, out: Path) -> Path:
    build = source / f"build-{name}"
    configure = ["-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON"]
    configure += cmake_args(VARIANTS[name])
    run(["cmake", "-S", str(source / "vendor" / "llama.cpp"), "-B", str(build), *configure])
    run(["cmake", "--build", str(build), "--target", "ggml-cpu", "-j", str(os.cpu_count() or 2)])
    built = next(build.rglob("libggml-cpu.so"))
    target = out / module_file(name)
    shutil.copy2(built, target)
    return target


def ensure_built(ver: str, extra: tuple[str, ...] = ()) -> Path:
    cache = cache_dir(ver)
    wanted = [module_file(n) for n in (*INSTALLED_VARIANTS, *extra)]
    if list(cache.glob("*.whl")) and all((cache / w).is_file() for w in wanted):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    if not list(cache.glob("*.whl")):
        print(f"Building llama-cpp-python {ver} for x86-64-v3 (about 9 minutes on 2 cores)")
    else:
        print(f"Building llama.cpp CPU modules: {', '.join(extra)} (a few minutes)")
    with tempfile.TemporaryDirectory(prefix="llama-build-") as tmp:
        source = sdist(ver, Path(tmp))
        if not list(cache.glob("*.whl")):
            wheel = build_wheel(source, Path(tmp))
            shutil.copy2(wheel, cache / (wheel.name + ".part"))
            os.replace(cache / (wheel.name + ".part"), cache / wheel.name)
        for name in (*INSTALLED_VARIANTS, *extra):
            if not (cache / module_file(name)).is_file():
                build_module(source, name, cache)
    return cache


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(ver: str, cache: Path) -> None:
    wheel = next(cache.glob("*.whl"))
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
         str(wheel)])  # fmt: skip
    run([sys.executable, "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"),
         f"llama-cpp-python[server]=={ver}"])  # fmt: skip
    lib = Path(sys.prefix) / "lib"
    baseline = next(lib.rglob("site-packages/llama_cpp/lib/libggml-cpu.so"))
    share = Path(sys.prefix) / "share" / "ai-race-assistant" / "llama"
    share.mkdir(parents=True, exist_ok=True)
    modules = {"x86-64-v3": {"path": str(baseline), "sha256": sha256(baseline)}}
    for name in INSTALLED_VARIANTS:
        shutil.copy2(cache / f"libggml-cpu-{name}.so", share / f"libggml-cpu-{name}.so")
        modules[name] = {"path": str(share / f"libggml-cpu-{name}.so"),
                         "sha256": sha256(share / f"libggml-cpu-{name}.so")}  # fmt: skip
    info = {"version": ver, "key": key(ver), "modules": modules}
    (share / "build.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"llama-cpp-python {ver} installed for x86-64-v3, with modules: {', '.join(modules)}")


def installed_matches(ver: str) -> bool:
    info = Path(sys.prefix) / "share" / "ai-race-assistant" / "llama" / "build.json"
    if not info.is_file():
        return False
    data = json.loads(info.read_text())
    paths = [Path(m["path"]) for m in data["modules"].values()]
    return data.get("key") == key(ver) and all(
        p.is_file() and sha256(p) == m["sha256"]
        for p, m in zip(paths, data["modules"].values(), strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=[], choices=sorted(VARIANTS),
                        help="also build this extra CPU module and print its path")  # fmt: skip
    args = parser.parse_args()
    ver = version()
    extra = tuple(v for v in args.variant if v not in INSTALLED_VARIANTS)
    cache = ensure_built(ver, extra)
    if not installed_matches(ver):
        install(ver, cache)
    for name in args.variant:
        print(cache / module_file(name))


if __name__ == "__main__":
    main()
