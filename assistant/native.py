"""Which build of llama.cpp's CPU code this machine can really run.

``scripts/build_llama.py`` installs llama-cpp-python with ggml's CPU code as loadable modules:
an x86-64-v3 baseline (AVX2, FMA, F16C, BMI2) and an AVX-512 module. A CPU's feature flags are
not proof: some VMs advertise instructions they trap. So a module is chosen only when the CPU
advertises what it needs and a probe run of it has not died; a module that died is remembered
(by its hash and this CPU's flags) and never tried again on this machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError

BASELINE = "x86-64-v3"
REQUIRES: dict[str, frozenset[str]] = {
    "avx512": frozenset(
        "avx2 fma f16c bmi2 avx512f avx512cd avx512bw avx512dq avx512vl avx512vbmi "
        "avx512_vnni".split()
    ),
    BASELINE: frozenset("avx2 fma f16c bmi2".split()),
}
PREFERENCE = ("avx512", BASELINE)
REBUILD = (
    "run `make install` (or `python scripts/build_llama.py` with this environment's python) to "
    "install the portable build"
)


@dataclass(frozen=True)
class CpuModule:
    name: str
    path: Path
    sha256: str


def build_info_path() -> Path:
    return Path(sys.prefix) / "share" / "ai-race-assistant" / "llama" / "build.json"


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-race-assistant"


def verdicts_path() -> Path:
    return cache_dir() / "llama-cpu-modules.json"


def installed_modules() -> list[CpuModule]:
    """The CPU modules of the project's build, checked against the installed library: a wheel
    that pip built natively (and may have taken from its cache) is refused, not run."""
    info = build_info_path()
    if not info.is_file():
        raise ModelError(
            f"llama-cpp-python in {sys.prefix} was not installed by the project's portable "
            f"build, so it may use instructions this CPU lacks; {REBUILD}."
        )
    data = json.loads(info.read_text(encoding="utf-8"))
    modules = [
        CpuModule(name, Path(m["path"]), str(m["sha256"])) for name, m in data["modules"].items()
    ]
    baseline = next((m for m in modules if m.name == BASELINE), None)
    if baseline is None or baseline.path != _installed_cpu_library():
        raise ModelError(f"The portable llama.cpp build record at {info} is incomplete; {REBUILD}.")
    for module in modules:
        if not module.path.is_file() or _sha256(module.path) != module.sha256:
            raise ModelError(
                f"llama.cpp's CPU library {module.path} is not the one the portable build "
                f"installed (pip may have reinstalled llama-cpp-python from its cache); {REBUILD}."
            )
    return modules


def _installed_cpu_library() -> Path:
    spec = importlib.util.find_spec("llama_cpp")  # found without importing it
    if spec is None or spec.origin is None:
        raise ModelError(f"llama-cpp-python is not installed; {REBUILD}.")
    return Path(spec.origin).parent / "lib" / "libggml-cpu.so"


def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def candidates(modules: list[CpuModule], choice: str = "auto") -> list[CpuModule]:
    """Modules to try, best first: those the CPU advertises and that have not died here."""
    flags = cpu_flags()
    by_name = {m.name: m for m in modules}
    if choice != "auto":
        if choice not in by_name:
            raise ModelError(
                f"No llama.cpp CPU module {choice!r}: this build has {sorted(by_name)}; set "
                "ASSISTANT_LLM__CPU_MODULE=auto."
            )
        return [by_name[choice]]
    bad = _verdicts()
    usable = [
        by_name[name]
        for name in PREFERENCE
        if name in by_name
        and REQUIRES[name] <= flags
        and bad.get(_verdict_key(by_name[name], flags)) != "crashed"
    ]
    if not usable:
        raise ModelError(
            "This CPU lacks AVX2, FMA or F16C, which the local model needs (x86-64-v3: Intel "
            "Haswell or AMD Zen and later). Use a model server instead: "
            "ASSISTANT_LLM__BACKEND=openai, or ASSISTANT_LLM__BACKEND=extractive."
        )
    return usable


def is_verified(module: CpuModule) -> bool:
    return _verdicts().get(_verdict_key(module, cpu_flags())) == "ok"


def remember(module: CpuModule, verdict: str) -> None:
    """Record that ``module`` ran ("ok") or died ("crashed") on this CPU."""
    path = verdicts_path()
    data = _verdicts()
    data[_verdict_key(module, cpu_flags())] = verdict
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # only a cache: the probe runs again next time


def _verdicts() -> dict[str, str]:
    try:
        data = json.loads(verdicts_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _verdict_key(module: CpuModule, flags: frozenset[str]) -> str:
    cpu = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:12]
    return f"{module.name}:{module.sha256[:12]}:{cpu}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
