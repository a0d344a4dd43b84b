"""Panels of distributions (language, scores, length) and of deduplication, binned inside DuckDB."""

from __future__ import annotations

import yaml

from tiers.dedup.reasons import EXACT_REASON, NEAR_REASON
from tiers.apps.report.aggregates import OTHER, current_runs, grouped_expr, histogram, job_runs, log_edge, top_values
from tiers.apps.report.model import Chart, Panel, Table
from tiers.catalog.sql_text import literal as quote
from tiers.apps.report.source import CatalogSource
from tiers.llm.prompts import load_score_prompt
from tiers.names import DOCUMENT_TIERS, L1_DEDUP, L2_SCORE, L2_SELECT, L2_TO_L3

TOP_LANGUAGES = 12
HIST_LANGUAGES = 4
SCORE_BINS = 20
LENGTH_DECADES = 8  # document lengths from 1 to 10^8 characters
LENGTH_BINS_PER_DECADE = 4


def _aggregate_other(rows: list[tuple], keep: int) -> list[tuple]:
    """(lang, documents, mean score) rows: the first `keep` as they are, the rest summed into 'other'."""
    head, tail = rows[:keep], rows[keep:]
    if tail:
        docs = sum(r[1] for r in tail)
        scored = [(r[1], r[2]) for r in tail if r[2] is not None]
        mean = sum(n * s for n, s in scored) / sum(n for n, _ in scored) if scored else None
        head.append((OTHER, docs, mean))
    return [(lang, docs, None if mean is None else round(mean, 3)) for lang, docs, mean in head]


def languages(src: CatalogSource) -> Panel:
    key, title = "languages", "Languages in L1"
    if not src.has("l1", "lang"):
        return Panel.absent(key, title, "No L1 documents with a lang column yet.")
    score = "avg(lang_score)" if src.has("l1", "lang_score") else "NULL"
    rows = src.rows(
        f"SELECT coalesce(lang, '(none)'), count(*), {score} FROM {src.rel('l1')} GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    if not rows:
        return Panel.absent(key, title, "L1 holds no documents yet.")
    return Panel(
        key=key,
        title=title,
        caption=f"L1 documents per detected language (top {TOP_LANGUAGES}, the rest as 'other') and the mean language-ID score.",
        table=Table(("lang", "documents", "mean lang_score"), tuple(_aggregate_other(rows, TOP_LANGUAGES))),
        chart=Chart("barh", x="lang", y=("documents", "mean lang_score")),
    )


def lang_score(src: CatalogSource) -> Panel:
    key, title = "lang_score", "Language-ID score"
    if not src.has("l1", "lang", "lang_score"):
        return Panel.absent(key, title, "No L1 documents with lang_score yet.")
    relation = src.rel("l1")
    keep = top_values(src, relation, "lang", HIST_LANGUAGES)
    table = histogram(
        src,
        f"SELECT {grouped_expr('lang', keep)} AS g, lang_score AS v FROM {relation}",
        0.0,
        1.0,
        SCORE_BINS,
        groups=[*keep, OTHER],
    )
    if len(table.columns) == 2:
        return Panel.absent(key, title, "L1 holds no documents with a language score yet.")
    return Panel(
        key=key,
        title=title,
        caption="Distribution of the language-ID confidence of L1 documents, per language (documents per bin of 0.05).",
        table=table,
        chart=Chart("hist", x="from", x2="to", y=table.columns[2:], xlabel="lang_score", ylabel="documents"),
    )


def l2_threshold(src: CatalogSource) -> float | None:
    runs = job_runs(src, L2_SELECT, prefer=current_runs(src, "l2"), latest_only=True)
    if not runs:
        return None
    value = runs[0][1].get("threshold")
    return float(value) if isinstance(value, (int, float)) else None


def unscored_note(src: CatalogSource, relation: str) -> tuple[str, ...]:
    """One line: documents without a model, per language, and what `l2.languages_without_model` did with them."""
    by_lang = src.rows(
        f"SELECT coalesce(lang, 'unknown'), count(*) FROM {relation} WHERE quality_score IS NULL GROUP BY 1 ORDER BY 2 DESC"
    )
    if not by_lang:
        return ()
    runs = job_runs(src, L2_SCORE, prefer=current_runs(src, "l2_scores"), latest_only=True)
    policy = runs[0][2].get("languages_without_model", "drop") if runs else "drop"
    fate = "entered L2 unscored" if policy == "keep" else "stayed in L1 and were not promoted to L2"
    listed = ", ".join(f"{lang} {n:,}" for lang, n in by_lang[:8])
    total = sum(n for _, n in by_lang)
    return (
        f"{total:,} documents have no quality model for their language ({listed}); by "
        f"l2.languages_without_model: {policy} they {fate}.",
    )


def quality_score(src: CatalogSource) -> Panel:
    key, title = "quality_score", "Quality score per language"
    if not src.has("l2_scores", "quality_score"):
        return Panel.absent(key, title, "No L2 scores yet (l1-to-l2 has not run).")
    relation = src.rel("l2_scores")
    lang = "lang" if src.has("l2_scores", "lang") else quote("all")
    keep = top_values(src, relation, lang, HIST_LANGUAGES) if lang == "lang" else []
    table = histogram(
        src,
        f"SELECT {grouped_expr(lang, keep)} AS g, quality_score AS v FROM {relation}",
        0.0,
        1.0,
        SCORE_BINS,
        groups=[*keep, OTHER],
    )
    unscored = int(src.one(f"SELECT count(*) FROM {relation} WHERE quality_score IS NULL"))
    if len(table.columns) == 2:
        return Panel.absent(
            key, title, f"No document has a quality score yet ({unscored:,} without a model for their language)."
        )
    threshold = l2_threshold(src)
    drawn = f"; the line is the L2 selection threshold {threshold:g}" if threshold is not None else ""
    return Panel(
        key=key,
        title=title,
        caption=f"Classifier p(high quality) for scored L1 documents, per language (bins of 0.05){drawn}.",
        table=table,
        chart=Chart(
            "hist",
            x="from",
            x2="to",
            y=table.columns[2:],
            xlabel="quality_score",
            ylabel="documents",
            vline=threshold,
            vline_label="threshold",
        ),
        notes=unscored_note(src, relation) if unscored else (),
    )


def rubric_scale(src: CatalogSource) -> tuple[int, int] | None:
    """The scale of the rubric the latest L2-to-L3 run scored with (from its score prompt file), if readable."""
    for _, config, _ in job_runs(src, L2_TO_L3, latest_only=True):
        try:
            return load_score_prompt(config["l3"]["score_prompt"]).scale
        except (KeyError, TypeError, OSError, ValueError, yaml.YAMLError):
            return None
    return None


def llm_score(src: CatalogSource) -> Panel:
    key, title = "llm_score", "LLM rubric score (L3)"
    if not src.has("l3_scores", "llm_score"):
        return Panel.absent(key, title, "No L3 scores yet (l2-to-l3 has not run).")
    counts = dict(
        src.rows(f"SELECT llm_score, count(*) FROM {src.rel('l3_scores')} WHERE llm_score IS NOT NULL GROUP BY 1")
    )
    if not counts:
        return Panel.absent(key, title, "No L3 document has an LLM score yet.")
    low, high = rubric_scale(src) or (min(counts), max(counts))
    scores = sorted(set(range(low, high + 1)) | set(counts))
    return Panel(
        key=key,
        title=title,
        caption=f"L2 documents per LLM rubric score ({low}-{high}), answers that parsed only.",
        table=Table(("llm_score", "documents"), tuple((s, int(counts.get(s, 0))) for s in scores)),
        chart=Chart("bars", x="llm_score", y=("documents",), xlabel="llm_score", ylabel="documents"),
    )


def doc_length(src: CatalogSource) -> Panel:
    key, title = "doc_length", "Document length per tier"
    parts = [
        f"SELECT {quote(t)} AS g, log10(greatest(length(text), 1)) AS v FROM {src.rel(t.lower())}"
        for t in DOCUMENT_TIERS
        if src.has(t.lower(), "text")
    ]
    if not parts:
        return Panel.absent(key, title, "No tier holds documents yet.")
    table = histogram(
        src,
        " UNION ALL ".join(parts),
        0.0,
        float(LENGTH_DECADES),
        LENGTH_DECADES * LENGTH_BINS_PER_DECADE,
        edge=log_edge,
        groups=["L0", "L1", "L2", "L3"],
        trim=True,
        digits=0,
    )
    if len(table.columns) == 2:
        return Panel.absent(key, title, "No tier holds documents yet.")
    return Panel(
        key=key,
        title=title,
        caption="Documents per length in characters (quarter-decade bins, log scale), one colour per tier.",
        table=table,
        chart=Chart(
            "hist", x="from", x2="to", y=table.columns[2:], xlabel="characters", ylabel="documents", log_x=True
        ),
    )


def _dedup_clusters_sql(src: CatalogSource) -> str:
    """One row per duplicate cluster: kind, its size (removed + the kept document)."""
    return (
        "SELECT reason, coalesce(json_extract_string(details, '$.cluster'), json_extract_string(details, '$.kept')) AS cluster, "
        f"count(*) + 1 AS size FROM {src.rel('drops')} WHERE reason IN ('{EXACT_REASON}', '{NEAR_REASON}') GROUP BY 1, 2"
    )


def dedup_clusters(src: CatalogSource) -> Panel:
    key, title = "dedup_clusters", "Duplicate cluster sizes"
    if not src.has("drops", "reason", "details"):
        return Panel.absent(key, title, "No drops view yet, so no dedup clusters.")
    rows = src.rows(f"SELECT size, reason, count(*) FROM ({_dedup_clusters_sql(src)}) GROUP BY 1, 2 ORDER BY 1")
    if not rows:
        return Panel.absent(key, title, "No duplicates removed yet.")
    counts = {(size, reason): n for size, reason, n in rows}
    sizes = sorted({r[0] for r in rows})
    table = Table(
        ("cluster size", "exact clusters", "near clusters"),
        tuple((s, int(counts.get((s, EXACT_REASON), 0)), int(counts.get((s, NEAR_REASON), 0))) for s in sizes),
    )
    return Panel(
        key=key,
        title=title,
        caption="Clusters of duplicates by size (documents in the cluster, the kept one included), exact and near (MinHash).",
        table=table,
        chart=Chart(
            "bars",
            x="cluster size",
            y=("exact clusters", "near clusters"),
            xlabel="cluster size",
            ylabel="clusters",
            log_y=True,
        ),
    )


def dedup_removed(src: CatalogSource) -> Panel:
    key, title = "dedup_removed", "Exact vs near duplicates removed"
    if not src.has("drops", "reason", "details"):
        return Panel.absent(key, title, "No drops view yet, so no dedup counts.")
    if not src.one(f"SELECT count(*) FROM {src.rel('drops')}"):
        return Panel.absent(key, title, "Nothing dropped yet: no L0 → L1 run with dedup has committed.")
    counts = {
        reason: (int(docs), int(clusters))
        for reason, docs, clusters in src.rows(
            f"SELECT reason, sum(size - 1), count(*) FROM ({_dedup_clusters_sql(src)}) GROUP BY 1"
        )
    }
    rows = tuple(
        (label, *counts.get(reason, (0, 0)))
        for reason, label in ((EXACT_REASON, "exact"), (NEAR_REASON, "near (MinHash)"))
    )
    return Panel(
        key=key,
        title=title,
        caption="Documents removed by exact dedup (same normalised text) and by MinHash near-dedup, and their clusters.",
        table=Table(("dedup", "documents removed", "clusters"), rows),
        chart=Chart("barh", x="dedup", y=("documents removed", "clusters")),
    )


def dedup_flags(src: CatalogSource) -> Panel:
    """What the current l1_dedup runs flagged: components above the configured size, sources losing more
    than the configured share, work capped in giant components, and the near drops' measured Jaccard."""
    key, title = "dedup_flags", "Dedup flags and evidence"
    runs = job_runs(src, L1_DEDUP, prefer=current_runs(src, "l1"))
    found = [(run_id, counts["dedup"]) for run_id, _, counts in runs if isinstance(counts.get("dedup"), dict)]
    if not found:
        return Panel.absent(key, title, "No l1_dedup run with dedup evidence has committed.")
    rows, notes = [], []
    for run_id, evidence in found:
        for component in evidence.get("large_components", []):
            rows.append((run_id, "large component", component["component"], component["size"], None))
        for flagged in evidence.get("sources_flagged", []):
            kind = "domain" if "domain" in flagged else "source"
            rows.append((run_id, f"{kind} losing a large share", flagged[kind], flagged["documents"], flagged["share"]))
        notes.append(
            f"{run_id}: near drops' Jaccard with their kept document: lowest {evidence.get('near_jaccard_min')}, "
            f"median {evidence.get('near_jaccard_median')}, below the threshold {evidence.get('near_below_threshold')}; "
            f"components over the size limit {evidence.get('components_over_size', 0)} "
            f"(largest {evidence.get('largest_component', 0)}); documents left unresolved by the comparison cap "
            f"{evidence.get('capped_documents', 0)} in {evidence.get('capped_components', 0)} components."
        )
    if not rows:
        return Panel.absent(key, title, "Nothing flagged. " + " ".join(notes))
    return Panel(
        key=key,
        title=title,
        caption="Components above l1.dedup.flags.component_size and sources (source column, URL domain) that lose "
        "more than l1.dedup.flags.source_drop_share of their documents to dedup; per run, the evidence behind the drops.",
        table=Table(("run", "flag", "what", "documents", "share dropped"), tuple(rows)),
        chart=Chart("barh", x="what", y=("documents",)),
        notes=tuple(notes),
    )
