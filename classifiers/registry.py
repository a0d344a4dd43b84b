"""Which quality model serves which language.

For each language of `l2.models`, in order: a configured file (`path`), the verification loop's
classifier, a model trained from the seeds file `l2.seeds` when it lists the language, else the model
that ships in the package (classifiers/shipped.py). Trained models are stored under <root>/models;
every model used is recorded in the catalog's `models` table with its seeds, parameters and held-out
metrics, and identical seeds and parameters reuse the stored model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.model import file_hash
from classifiers.seeds import LanguageSeeds, collect, load_seeds, seeds_fingerprint
from classifiers.shipped import shipped_card, shipped_model_path
from classifiers.train import NotEnoughSeeds, train_classifier
from tiers.catalog import Catalog
from tiers.config import L2Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRef:
    lang: str
    path: str
    tokenizer: str
    model_hash: str
    metrics: dict = field(default_factory=dict, compare=False, hash=False)


def train_language(catalog: Catalog, config: L2Config, lang: str, tokenizer: str) -> ModelRef:
    """The model trained from `l2.seeds` for `lang` (stored; reused for the same seeds and parameters)."""
    seeds = load_seeds(config.seeds).languages.get(lang) if config.seeds else None
    if seeds is None:
        raise NotEnoughSeeds(f"no seed sources for language {lang!r} in {config.seeds}")
    return _trained(catalog, config, lang, tokenizer, seeds)


def _trained(catalog: Catalog, config: L2Config, lang: str, tokenizer: str, seeds: LanguageSeeds) -> ModelRef:
    pos, neg = collect(seeds, catalog)
    params = config.train.model_dump(mode="json")
    fingerprint = seeds_fingerprint(pos, neg)
    seeds_record = {
        "file": config.seeds,
        "lang": lang,
        "fingerprint": fingerprint,
        "positives": len(pos),
        "negatives": len(neg),
    }
    for model_hash, path, metrics_json in catalog.models_for(lang, tokenizer, fingerprint, json.dumps(params)):
        if Path(path).exists() and file_hash(path) == model_hash:
            log.info("%s model: reusing %s (same seeds and parameters)", lang, path)
            return ModelRef(lang, path, tokenizer, model_hash, json.loads(metrics_json or "{}"))
    out = catalog.root / "models" / f"quality-{lang}-{fingerprint}.bin"
    trained = train_classifier(pos, neg, out, config.train, tokenizer)
    metrics = {**trained.metrics, "train_params": trained.params}
    catalog.record_model(trained.model_hash, lang, trained.path, tokenizer, seeds_record, params, metrics, None)
    return ModelRef(lang, trained.path, tokenizer, trained.model_hash, metrics)


def verified_model(catalog: Catalog, lang: str) -> ModelRef | None:
    """The latest classifier produced by the verification loop for a language, if any."""
    row = catalog.latest_verified_model(lang)
    if row and Path(row[1]).exists():
        return ModelRef(lang, row[1], row[2], row[0])
    return None


def shipped_model(catalog: Catalog, lang: str) -> ModelRef | None:
    """The package's own model for a language, recorded in the catalog with its card; None when none ships."""
    card = shipped_card(lang)
    path = shipped_model_path(lang)
    if card is None or path is None:
        return None
    metrics = {**card["heldout"], "train_params": card["params"]}
    seeds = {"shipped": card["seeds"], "recipe": card["recipe"]}
    catalog.record_model(card["model_hash"], lang, str(path), card["tokenizer"], seeds, card["params"], metrics, None)
    return ModelRef(lang, str(path), card["tokenizer"], card["model_hash"], metrics)


def resolve_models(catalog: Catalog, config: L2Config) -> dict[str, ModelRef]:
    """One model per configured language (see the module docstring for the order); a language with none
    is left out with a warning, and its documents follow `l2.languages_without_model`."""
    models: dict[str, ModelRef] = {}
    seed_languages: dict[str, LanguageSeeds] | None = None  # the seeds file, read once when first needed
    for lang, spec in config.models.items():
        if spec.path:
            path = str(Path(spec.path).resolve())
            if not Path(path).exists():
                raise FileNotFoundError(f"l2.models.{lang}.path: {path} does not exist")
            ref = ModelRef(lang, path, spec.tokenizer, file_hash(path))
            catalog.record_model(ref.model_hash, lang, path, spec.tokenizer, {"external": path}, {}, {}, None)
            models[lang] = ref
            continue
        verified = verified_model(catalog, lang)
        if verified is not None:
            log.info("%s model: the verification loop's classifier %s", lang, verified.path)
            models[lang] = verified
            continue
        if config.seeds and seed_languages is None:
            seed_languages = load_seeds(config.seeds).languages
        if seed_languages and lang in seed_languages:
            try:
                models[lang] = _trained(catalog, config, lang, spec.tokenizer, seed_languages[lang])
                continue
            except NotEnoughSeeds as exc:
                log.warning("cannot train a %s model from %s: %s", lang, config.seeds, exc)
        shipped = shipped_model(catalog, lang)
        if shipped is not None:
            log.info("%s model: the shipped default %s", lang, shipped.path)
            models[lang] = shipped
            continue
        log.warning(
            "no %s quality model (set l2.models.%s.path, or list %s in a seeds file named by l2.seeds); "
            "%s documents follow l2.languages_without_model",
            lang,
            lang,
            lang,
            lang,
        )
    return models
