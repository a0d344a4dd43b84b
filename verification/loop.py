"""The seed-selection loop (Ultra-FineWeb): verify candidate pools, train the fastText classifier on the
accepted ones against raw-crawl negatives, verify the classifier's selection, relabel, repeat."""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from classifiers.model import QualityModel
from classifiers.train import train_classifier
from tiers.config import ClassifierTrainConfig
from verification.data import MixtureSampler, encode
from verification.experiment import ExperimentResult, VerifyConfig, verify_pool
from verification.model import ModelConfig
from verification.train import pretrain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    model: ModelConfig = ModelConfig()
    base_steps: int = 200
    verify: VerifyConfig = VerifyConfig()
    rounds: int = 2
    train: ClassifierTrainConfig = ClassifierTrainConfig(bucket=200_000)


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
        loop_id, round_index, result.pool, json.dumps(result.config), json.dumps(result.baseline), json.dumps(result.candidate),
        v.delta, v.low, v.high, v.accepted, result.seconds, result.tokens_per_arm,
    )


def run_loop(pools: dict[str, list[str]], default_texts: list[str], negatives: list[str], reference_texts: list[str],
             out_dir: str | Path, config: LoopConfig = LoopConfig(), catalog=None) -> LoopResult:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loop_id = f"verify-{uuid.uuid4().hex[:8]}"
    default, reference = encode(default_texts), encode(reference_texts)
    v = config.verify
    base, stats = pretrain(config.model, MixtureSampler(default, None, 0.0, config.model.context, seed=0),
                           config.base_steps, v.batch_size, seed=0, lr=v.lr, device=v.device)
    result = LoopResult(base_seconds=stats.seconds, base_tokens=stats.tokens)
    by_pool = {}
    for name, texts in pools.items():
        experiment = verify_pool(name, base, default, encode(texts), reference, {}, v)
        record(catalog, loop_id, 0, experiment)
        result.experiments.append(experiment)
        by_pool[name] = experiment
    result.ranking = sorted(by_pool, key=lambda n: by_pool[n].verdict.delta, reverse=True)
    result.accepted = [n for n in result.ranking if by_pool[n].verdict.accepted]
    log.info("pools ranked %s; accepted %s", result.ranking, result.accepted)
    if not result.accepted:
        return result
    positives = [t for name in result.accepted for t in pools[name]]
    everything = [t for texts in pools.values() for t in texts]
    previous: bool | None = None
    for round_index in range(1, config.rounds + 1):
        trained = train_classifier(positives, negatives, out / f"verified-{loop_id}-round{round_index}.bin", config.train)
        result.model_path = trained.path
        scores = QualityModel(trained.path).score(everything)
        selection = [t for t, s in zip(everything, scores) if s >= 0.5]
        stream = encode(selection)
        if len(stream) <= config.model.context + 1:
            log.info("round %d: the classifier selects too little to verify", round_index)
            break
        experiment = verify_pool(f"classifier-round{round_index}", base, default, stream, reference, {}, v)
        record(catalog, loop_id, round_index, experiment)
        result.experiments.append(experiment)
        if previous is not None and experiment.verdict.accepted == previous:
            break
        previous = experiment.verdict.accepted
        if experiment.verdict.accepted:
            positives = selection
    if catalog is not None and result.model_path:
        from classifiers.model import file_hash

        catalog.record_model(file_hash(result.model_path), "en", result.model_path, "builtin",
                             {"source": "verification", "loop": loop_id, "accepted": result.accepted},
                             config.train.model_dump(mode="json"), {}, None)
    return result


def summary(result: LoopResult) -> dict:
    return {"ranking": result.ranking, "accepted": result.accepted, "model_path": result.model_path,
            "experiments": [{"pool": e.pool, **asdict(e.verdict), "seconds": round(e.seconds, 2)} for e in result.experiments]}
