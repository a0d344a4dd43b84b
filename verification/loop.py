"""The seed-selection loop (Ultra-FineWeb): verify candidate pools, rank them, train the fastText
classifier on the accepted ones against raw-crawl negatives, verify the classifier's selection,
relabel, repeat."""

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
from verification.data import MixtureSampler, encode
from verification.experiment import ExperimentResult, VerifyConfig, run_arm, verify_pool, verify_pools
from verification.leakage import refuse_eval_overlap
from verification.metrics import EvalMaterial
from verification.model import ModelConfig
from verification.ranking import AcceptRule, rank_and_accept
from verification.store import record_parts
from verification.train import pretrain

log = logging.getLogger(__name__)
DEFAULT_POOL = "default"


@dataclass(frozen=True)
class LoopConfig:
    model: ModelConfig = ModelConfig()
    base_steps: int = 200
    verify: VerifyConfig = VerifyConfig()
    rounds: int = 2
    train: ClassifierTrainConfig = ClassifierTrainConfig(bucket=200_000)
    accept: AcceptRule = AcceptRule()


@dataclass
class LoopResult:
    experiments: list[ExperimentResult] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    model_path: str | None = None
    base_seconds: float = 0.0
    base_tokens: int = 0


def record(catalog, loop_id: str, round_index: int, result: ExperimentResult) -> None:
    if catalog is None:
        return
    v = result.verdict
    catalog.record_experiment(
        loop_id,
        round_index,
        result.pool,
        json.dumps(result.config),
        json.dumps(result.baseline),
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
) -> LoopResult:
    """`eval_index` given: a pool or default text overlapping an evaluation item is refused (`EvalLeak`)."""
    if eval_index is not None:
        refuse_eval_overlap({**pools, DEFAULT_POOL: default_texts}, eval_index)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loop_id = f"verify-{uuid.uuid4().hex[:8]}"
    default = encode(default_texts)
    v = dataclasses.replace(config.verify, min_delta=config.accept.margin)
    base, stats = pretrain(
        config.model,
        MixtureSampler(default, None, 0.0, config.model.context, seed=0),
        config.base_steps,
        v.batch_size,
        seed=0,
        lr=v.lr,
        device=v.device,
    )
    result = LoopResult(base_seconds=stats.seconds, base_tokens=stats.tokens)
    baseline = run_arm(base, default, None, material, v)
    result.experiments = verify_pools(
        {name: encode(texts) for name, texts in pools.items()}, base, default, material, v, baseline
    )
    result.ranking, result.accepted = rank_and_accept(result.experiments, config.accept)
    for experiment in result.experiments:
        record(catalog, loop_id, 0, experiment)
    log.info("pools ranked %s; accepted %s", result.ranking, result.accepted)
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
        experiment = verify_pool(f"classifier-round{round_index}", base, default, stream, material, v, baseline)
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
    """Pools best first with delta and interval, the per-benchmark deltas, and what was accepted."""
    return {
        "ranking": result.ranking,
        "accepted": result.accepted,
        "model_path": result.model_path,
        "experiments": [
            {"pool": e.pool, **asdict(e.verdict), "seconds": round(e.seconds, 2), "parts": e.parts_summary()}
            for e in result.experiments
        ],
    }
