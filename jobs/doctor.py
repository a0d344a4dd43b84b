"""`tiers doctor`: check in seconds what a run will need, one line per item with what to do when it fails."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tiers.config import TiersConfig

MIN_FREE_BYTES = 5 * 1024**3


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    seconds: float = 0.0


def _python(config: TiersConfig, root: Path) -> tuple[str, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):
        return "fail", f"Python {version}; tiers needs 3.11+"
    return "ok", f"Python {version} ({sys.executable})"


def _java(config: TiersConfig, root: Path) -> tuple[str, str]:
    from jobs.java import JavaError, java_binary, java_version

    try:
        version, _ = java_version()
    except JavaError as exc:
        return "fail", str(exc)
    return "ok", f"Java {version} ({java_binary()})"


def _spark(config: TiersConfig, root: Path) -> tuple[str, str]:
    from jobs.spark import get_spark

    spark = get_spark(config.spark)
    count = spark.range(100).count()
    master = spark.sparkContext.master
    return ("ok", f"session on {master} ran a job") if count == 100 else ("fail", f"a test job counted {count} of 100")


def _langid(config: TiersConfig, root: Path) -> tuple[str, str]:
    from tiers.ops.langid import lid_model_path, load_lid_model

    labels, _ = load_lid_model().predict("Das ist ein kurzer deutscher Satz über das Wetter von heute.")
    if labels[0] != "__label__de":
        return "fail", f"lid.176.ftz labelled a German sentence {labels[0]}"
    return "ok", f"lid.176.ftz loads and labels German as de ({lid_model_path()})"


def _fasttext(config: TiersConfig, root: Path) -> tuple[str, str]:
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        return "fail", (
            f"the `fasttext` module at {fasttext.__file__} cannot train (a predict-only package such as "
            "fasttext-predict replaced fasttext-numpy2): pip install --force-reinstall fasttext-numpy2"
        )
    return "ok", f"fastText with training ({fasttext.__file__})"


def seed_files(seeds_path: str) -> list[tuple[str, Path]]:
    """(what, path) of every file a seeds YAML reads (SQL sources read the catalog, not files)."""
    from classifiers.seeds import load_seeds, source_path

    files = []
    for lang, seeds in load_seeds(seeds_path).languages.items():
        for side, sources in (("positive", seeds.positive), ("negative", seeds.negative)):
            for source in sources:
                path = source_path(source)
                if path is not None:
                    files.append((f"{lang} {side}", path))
    return files


def _l2_models(config: TiersConfig, root: Path) -> tuple[str, str]:
    given = {lang: spec.path for lang, spec in config.l2.models.items() if spec.path}
    missing = [f"{lang}: {path}" for lang, path in given.items() if not Path(path).exists()]
    if missing:
        return "fail", "configured L2 models not found: " + ", ".join(missing)
    from classifiers.model import QualityModel
    from classifiers.seeds import load_seeds
    from classifiers.shipped import shipped_card, shipped_model_path

    found = [f"{lang} (configured)" for lang in sorted(given)]
    try:
        seeded = set(load_seeds(config.l2.seeds).languages) if config.l2.seeds else set()
    except ValueError as exc:
        return "fail", f"l2.seeds: {exc}"
    absent = [f"{what}: {path}" for what, path in seed_files(config.l2.seeds) if not path.exists()] if seeded else []
    if absent:
        return "fail", (
            f"l2.seeds ({config.l2.seeds}) reads files that are not here, so L2 cannot train its model: "
            + "; ".join(absent)
            + " (point l2.seeds at a seeds file whose paths exist, or l2.models.<lang>.path at a trained model)"
        )
    for lang in sorted(set(config.l2.models) - set(given)):
        if lang in seeded:
            found.append(f"{lang} (trained from {config.l2.seeds} on first run)")
            continue
        path = shipped_model_path(lang)
        if path is None:
            return "warn", (
                f"no L2 model for {lang}: none ships and l2.seeds does not list it; its documents follow "
                f"l2.languages_without_model ({config.l2.languages_without_model})"
            )
        QualityModel(path).score(["a short probe sentence."])
        found.append(f"{lang} (shipped, held-out AUC {shipped_card(lang)['heldout']['roc_auc']})")
    return "ok", "L2 models: " + ", ".join(found) if found else "no L2 language configured (l2.models)"


PROJECT_PLAN = "conf/allocation.yaml"
PROJECT_POOLS = "conf/seed_pools.yaml"


def _loop_benchmarks() -> None:
    """The evaluation files `tiers verify` scores on by default (read without importing torch)."""
    import yaml

    from tiers.eval_overlap import BUILTIN, resolve_eval_dir
    from tiers.resources import read_project_text
    from verification.benchmarks import BENCHMARKS

    loop = (yaml.safe_load(read_project_text(PROJECT_POOLS)) or {}).get("loop") or {}
    folder = resolve_eval_dir(loop.get("eval_dir", BUILTIN))
    names = loop.get("benchmarks") or [n for n in BENCHMARKS if n != "openbookqa"]
    missing = [name for name in names if name in BENCHMARKS and not (folder / BENCHMARKS[name].path).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} has no {', '.join(missing)}")


def default_paths(config: TiersConfig) -> list[tuple[str, Callable[[], object]]]:
    """(setting, a call that raises when what it names is missing) for every file a run reads by default
    besides the L2 seeds and the LLM model: the tokenizer, evaluation sets, prompts, the allocation plan."""
    from tiers.apps.allocation.plan import load_plan
    from tiers.eval_overlap import resolve_eval_dir
    from tiers.resources import read_project_text
    from tiers.tokens import resolve_spec

    def plan_eval_dir() -> object:
        folder = load_plan(PROJECT_PLAN).eval_dir
        return folder is None or resolve_eval_dir(folder)

    checks: list[tuple[str, Callable[[], object]]] = [
        ("tokens.tokenizer", lambda: resolve_spec(config.tokens.tokenizer)),
        (f"{PROJECT_PLAN} eval_dir", plan_eval_dir),
        (f"{PROJECT_POOLS} loop.eval_dir", _loop_benchmarks),
    ]
    if config.l4.eval_dir is not None:
        checks.append(("l4.eval_dir", lambda: resolve_eval_dir(config.l4.eval_dir)))
    prompts = [("l3.score_prompt", config.l3.score_prompt), ("l3.rewrite_prompts", config.l3.rewrite_prompts)]
    if config.l3.calibration:
        prompts.append(("l3.calibration", config.l3.calibration))
    prompts += [(f"l4.prompts.{k}", v) for k, v in config.l4.prompts.model_dump().items() if isinstance(v, str)]
    checks += [(name, lambda path=path: read_project_text(path)) for name, path in prompts]
    return checks


def _paths(config: TiersConfig, root: Path) -> tuple[str, str]:
    problems = []
    checks = default_paths(config)
    for name, check in checks:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - each missing path is reported by its setting
            problems.append(f"{name}: {exc}")
    if problems:
        return "fail", "; ".join(problems)
    return "ok", f"{len(checks)} default paths found (tokenizer, evaluation sets, prompts)"


def _llm(config: TiersConfig, root: Path) -> tuple[str, str]:
    if config.llm.engine == "vllm_offline":
        if importlib.util.find_spec("vllm") is None:
            return "warn", "engine vllm_offline needs vLLM: pip install 'tiers[vllm]' (on a GPU machine)"
        return "ok", "vLLM is importable"
    if config.llm.engine == "http":
        import httpx

        for endpoint in config.llm.endpoints:
            body = {
                "model": config.llm.model,
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "Name three colours of the rainbow, please."}],
            }
            try:
                httpx.post(f"{endpoint}/chat/completions", json=body, timeout=60).raise_for_status()
            except httpx.HTTPError as exc:
                return "warn", f"{endpoint} did not answer a chat request ({type(exc).__name__}: {exc}); needed by L3"
        return "ok", f"{len(config.llm.endpoints)} endpoint(s) answered a chat request"
    from tiers.llm.selftest import check_llama_cpp

    result = check_llama_cpp(config.llm.server.model_path)
    return ("ok" if result.ok else "warn"), result.message + ("" if result.ok else " (needed by L3 only)")


def _torch(config: TiersConfig, root: Path) -> tuple[str, str]:
    if importlib.util.find_spec("torch") is None:
        return (
            "warn",
            "torch is missing, needed by `tiers verify` only: pip install torch==2.13.0 (CPU) then 'tiers[verify]'",
        )
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return "ok", f"torch {torch.__version__} on {device}"


def _disk(config: TiersConfig, root: Path) -> tuple[str, str]:
    existing = root
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1024**3:.1f} GiB free at {existing}"
    return (
        ("ok", detail)
        if free >= MIN_FREE_BYTES
        else ("warn", detail + "; runs need room for several copies of the input")
    )


CHECKS: list[tuple[str, Callable[[TiersConfig, Path], tuple[str, str]]]] = [
    ("python", _python),
    ("java", _java),
    ("spark", _spark),
    ("langid", _langid),
    ("fasttext", _fasttext),
    ("l2 models", _l2_models),
    ("paths", _paths),
    ("llm engine", _llm),
    ("torch", _torch),
    ("disk", _disk),
]


def run_checks(config: TiersConfig, root: str | Path) -> list[CheckResult]:
    """Every check, in order; an exception is a failed check, and Spark is skipped when Java failed."""
    results: list[CheckResult] = []
    for name, check in CHECKS:
        if name == "spark" and any(r.name == "java" and r.status == "fail" for r in results):
            results.append(CheckResult(name, "skip", "skipped: no usable Java"))
            continue
        start = time.perf_counter()
        try:
            status, detail = check(config, Path(root).resolve())
        except Exception as exc:  # noqa: BLE001 - a check that raises is a failed check, reported as such
            status, detail = "fail", f"{type(exc).__name__}: {exc}"
        results.append(CheckResult(name, status, detail, time.perf_counter() - start))
    return results
