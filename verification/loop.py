"""The seed-selection loop (Ultra-FineWeb): verify candidate pools against a same-size control of ordinary
crawl on cached base models, rank them and compare them pairwise, train the fastText classifier on the
accepted ones against raw-crawl negatives, verify the classifier's selection, relabel, repeat."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from classifiers.model import QualityModel
from classifiers.train import train_classifier
from tiers.config import ClassifierTrainConfig
from tiers.eval_overlap import EvalIndex
from verification.bases import BaseSpec, cached_bases
from verification.control import Controls
from verification.data import encode
from verification.experiment import ExperimentResult, VerifyConfig, verify_pool, verify_pools
from verification.leakage import refuse_eval_overlap
from verification.metrics import EvalMaterial
from verification.model import ModelConfig
from verification.pairwise import PairResult, beats, pairwise, supported_order
from verification.ranking import AcceptRule, rank_and_accept
from verification.store import record_pairs, record_parts

log = logging.getLogger(__name__)
DEFAULT_POOL = "default"
CONTROL_POOL = "control"


@dataclass(frozen=True)
class LoopConfig:
    model: ModelConfig = ModelConfig()
    base_steps: int = 200
    verify: VerifyConfig = VerifyConfig()
    rounds: int = 2
    train: ClassifierTrainConfig = ClassifierTrainConfig(bucket=200_000)
    accept: AcceptRule = AcceptRule()
    base_seeds: tuple[int, ...] = (0, 1)

    def base_spec(self) -> BaseSpec:
        return BaseSpec(self.model, self.base_steps, self.verify.batch_size, self.verify.lr, self.base_seeds)


@dataclass
class LoopResult:
    experiments: list[ExperimentResult] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    model_path: str | None = None
    base_seconds: float = 0.0
    base_tokens: int = 0
    base_passes: float = 0.0  # how many times each base read the default data (above 1: repeated)
    bases_cached: bool = False
    pairs: list[PairResult] = field(default_factory=list)  # the pools of round 0, each against each
    order: str = ""


def record(catalog, loop_id: str, round_index: int, result: ExperimentResult) -> None:
    if catalog is None:
        return
    v = result.verdict
    catalog.record_experiment(
        loop_id,
        round_index,
        result.pool,
        json.dumps(result.config),
        json.dumps(result.control),
        json.dumps(result.candidate),
        v.delta,
        v.low,
        v.high,
        v.accepted,
        result.seconds,
        result.tokens_per_arm,
    )
    record_parts(catalog, loop_id, round_index, result)


def run_loop(
    pools: dict[str, list[str]],
    default_texts: list[str],
    negatives: list[str],
    material: EvalMaterial,
    out_dir: str | Path,
    config: LoopConfig = LoopConfig(),
    catalog=None,
    eval_index: EvalIndex | None = None,
    control_texts: list[str] | None = None,
    cache_dir: str | Path | None = None,
) -> LoopResult:
    """`control_texts`: ordinary text the controls are sampled from (the root's L1; default: the default
    data). `cache_dir`: where base models are cached (default: `out_dir`). `eval_index` given: a pool,
    control or default text overlapping an evaluation item is refused (`EvalLeak`)."""
    control_texts = control_texts or default_texts
    if eval_index is not None:
        refuse_eval_overlap({**pools, DEFAULT_POOL: default_texts, CONTROL_POOL: control_texts}, eval_index)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loop_id = f"verify-{uuid.uuid4().hex[:8]}"
    default = encode(default_texts)
    v = dataclasses.replace(config.verify, min_delta=config.accept.margin)
    bases = cached_bases(cache_dir or out, default, config.base_spec(), v.device)
    result = LoopResult(
        base_seconds=bases.seconds, base_tokens=bases.tokens, base_passes=bases.passes, bases_cached=bases.cached
    )
    controls, control_arms = Controls(control_texts, v.control_seed), {}
    verification = verify_pools(
        {name: encode(texts) for name, texts in pools.items()},
        bases.models,
        default,
        controls,
        material,
        v,
        control_arms,
    )
    result.experiments = verification.experiments
    result.ranking, result.accepted = rank_and_accept(result.experiments, config.accept)
    result.pairs = pairwise(verification.arms, v.confidence) if len(pools) > 1 else []
    result.order = supported_order({e.pool: e.verdict.delta for e in result.experiments}, result.pairs)
    for experiment in result.experiments:
        record(catalog, loop_id, 0, experiment)
    if catalog is not None:
        record_pairs(catalog, loop_id, 0, result.pairs)
    log.info("pools ranked %s; accepted %s; supported order %s", result.ranking, result.accepted, result.order)
    if not result.accepted:
        return result
    positives = [t for name in result.accepted for t in pools[name]]
    everything = [t for texts in pools.values() for t in texts]
    previous: bool | None = None
    for round_index in range(1, config.rounds + 1):
        trained = train_classifier(
            positives, negatives, out / f"verified-{loop_id}-round{round_index}.bin", config.train
        )
        result.model_path = trained.path
        scores = QualityModel(trained.path).score(everything)
        selection = [t for t, s in zip(everything, scores) if s >= 0.5]
        stream = encode(selection)
        if len(stream) <= config.model.context + 1:
            log.info("round %d: the classifier selects too little to verify", round_index)
            break
        experiment = verify_pool(
            f"classifier-round{round_index}", bases.models, default, stream, controls, material, v, control_arms
        )
        record(catalog, loop_id, round_index, experiment)
        result.experiments.append(experiment)
        if previous is not None and experiment.verdict.accepted == previous:
            break
        previous = experiment.verdict.accepted
        if experiment.verdict.accepted:
            positives = selection
    if catalog is not None and result.model_path:
        from classifiers.model import file_hash

        catalog.record_model(
            file_hash(result.model_path),
            "en",
            result.model_path,
            "builtin",
            {"source": "verification", "loop": loop_id, "accepted": result.accepted},
            config.train.model_dump(mode="json"),
            {},
            None,
        )
    return result


def summary(result: LoopResult) -> dict:
    """Pools best first with their effect over the control and its interval, the per-benchmark deltas,
    what was accepted, every pair of pools and the order the pairs support."""
    return {
        "ranking": result.ranking,
        "accepted": result.accepted,
        "supported_order": result.order,
        "beats": beats(result.pairs),
        "pairwise": [p.as_dict() for p in result.pairs],
        "model_path": result.model_path,
        "base": {
            "seconds": round(result.base_seconds, 2),
            "tokens_each": result.base_tokens,
            "passes_over_default": round(result.base_passes, 3),
            "cached": result.bases_cached,
        },
        "experiments": [
            {
                "pool": e.pool,
                **asdict(e.verdict),
                "pool_bytes": e.pool_bytes,
                "seconds": round(e.seconds, 2),
                "parts": e.parts_summary(),
            }
            for e in result.experiments
        ],
    }
