"""The quality models and seed text that ship inside the package (built by scripts/build_default_model.py).

Each shipped model has a card beside it (`quality_<lang>.json`): its hash, fastText parameters, seeds and
held-out precision, recall and ROC AUC. L2 uses a shipped model for a language when nothing else is
configured for it (classifiers/registry.py).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tempfile
from pathlib import Path

from tiers.resources import PACKAGE, materialize

SHIPPED_DIR = PACKAGE / "assets" / "quality"
SHIPPED_SEEDS = PACKAGE / "assets" / "seeds" / "openstax_en.jsonl.gz"
_CACHE = Path(tempfile.gettempdir()) / "tiers-assets"
HELDOUT_SHARE = 10  # one in ten seeds, by hash, is held out of training


def is_heldout(key: str) -> bool:
    """The fixed held-out split of the shipped model's seeds: a hash of the document's id (or text)."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % HELDOUT_SHARE == 0


def shipped_card(lang: str) -> dict | None:
    """The card of the shipped model for `lang`, or None when none ships."""
    try:
        path = materialize(f"tiers/assets/quality/quality_{lang}.json", _CACHE)
    except FileNotFoundError:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def shipped_model_path(lang: str) -> Path | None:
    card = shipped_card(lang)
    if card is None:
        return None
    return materialize(f"tiers/assets/quality/{card['model']}", _CACHE)


def shipped_seed_texts(split: str | None = "train") -> list[str]:
    """The shipped OpenStax sections (positives of the default English model); `split` None gives all."""
    path = materialize("tiers/assets/seeds/openstax_en.jsonl.gz", _CACHE)
    with gzip.open(io.BytesIO(path.read_bytes()), "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row["text"] for row in rows if split is None or row["split"] == split]
