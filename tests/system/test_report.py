"""`tiers report` end to end: built by the CLI from a real pipeline run on the samples, opened in headless
Chromium (no console messages, every figure drawn), and its tables checked against the catalog's own counts.
Also on an empty root and on a root with only L0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.helpers import DOLMA_CC, open_catalog

pytestmark = pytest.mark.shared_data

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium package)"
)
# Panels the sample pipeline (ingest, L1, L2) always fills; the L3/L4/verification ones depend on what else ran.
L0_TO_L2_PANELS = {
    "funnel",
    "drops",
    "operators",
    "languages",
    "lang_score",
    "quality_score",
    "doc_length",
    "dedup_clusters",
    "dedup_removed",
    "runs",
}
ALL_PANELS = L0_TO_L2_PANELS | {
    "dedup_flags",
    "llm_score",
    "llm_usage",
    "l3_status",
    "l4_grades",
    "l4_checks",
    "experiments",
    "experiment_pairs",
    "allocation",
    "mixture_trials",
}
SHAPES = {"path", "rect", "line", "polyline", "polygon", "use", "circle"}


def tiers(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "250"},
    )


@dataclass
class Page:
    """What the rendered DOM holds, per panel key."""

    figures: dict[str, int] = field(default_factory=dict)  # panel -> drawn SVG shapes
    tables: dict[str, list[list[str]]] = field(default_factory=dict)  # panel -> rows (header first)
    captions: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # every src / href attribute
    scripts: int = 0

    def numbers(self, key: str) -> list[dict[str, object]]:
        header, *rows = self.tables[key]
        return [dict(zip(header, (parse_number(c) for c in row))) for row in rows]


def parse_number(text: str) -> object:
    text = text.strip()
    if text == "–":
        return None
    try:
        return int(text.replace(",", ""))
    except ValueError:
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self.figure: str | None = None
        self.table: str | None = None
        self.text_target: tuple[str, str] | None = None
        self.in_svg = 0
        self.buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.page.links += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v is not None]
        self.page.scripts += tag == "script"
        key = a.get("data-panel")
        if tag == "figure" and key:
            self.figure = key
            self.page.figures[key] = 0
        elif tag == "table" and key:
            self.table = key
            self.page.tables[key] = []
        elif tag == "p" and key and "missing" in (a.get("class") or ""):
            self.text_target, self.buffer = ("missing", key), []
        elif tag == "figcaption" and self.figure:
            self.text_target, self.buffer = ("caption", self.figure), []
        elif tag == "svg" and self.figure:
            self.in_svg += 1
        elif tag in SHAPES and self.in_svg and self.figure:
            self.page.figures[self.figure] += 1
        elif tag == "tr" and self.table:
            self.page.tables[self.table].append([])
        elif tag in ("td", "th") and self.table:
            self.text_target, self.buffer = ("cell", self.table), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self.figure = None
        elif tag == "table":
            self.table = None
        elif tag == "svg" and self.in_svg:
            self.in_svg -= 1
        elif self.text_target and tag in ("p", "figcaption", "td", "th"):
            kind, key = self.text_target
            text = "".join(self.buffer).strip()
            if kind == "missing":
                self.page.missing[key] = text
            elif kind == "caption":
                self.page.captions[key] = text
            else:
                self.page.tables[key][-1].append(text)
            self.text_target = None

    def handle_data(self, data: str) -> None:
        if self.text_target:
            self.buffer.append(data)


def parse_page(dom: str) -> Page:
    parser = PageParser()
    parser.feed(dom)
    return parser.page


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def open_in_chromium(path: Path, tmp_path: Path) -> tuple[Page, list[str]]:
    """The DOM Chromium rendered, parsed; and every console message the page produced."""
    done = chromium(path.resolve().as_uri(), tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return parse_page(done.stdout), console


def assert_self_contained(html: str, page: Page) -> None:
    assert page.scripts == 0
    assert all(link.startswith("#") for link in page.links), page.links
    for needle in ("<link", "@import", "url(http", 'src="http'):
        assert needle not in html


@needs_chromium
def test_console_errors_are_detected(tmp_path):
    """The console check below can fail: a page that logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('broken'); missing();</script></body></html>"
    )
    _, console = open_in_chromium(bad, tmp_path)
    assert any("broken" in line for line in console) and any("missing is not defined" in line for line in console)


def catalog_counts(root: Path) -> dict[str, object]:
    """The catalog's own numbers, queried independently of the report code."""
    con = open_catalog(root)
    try:
        one = lambda sql, *p: con.execute(sql, list(p)).fetchone()[0]  # noqa: E731
        current = (
            "SELECT {} FROM runs r WHERE job = ? AND status = 'committed' AND NOT EXISTS (SELECT 1 FROM outputs o "
            "WHERE o.run_id = r.run_id AND o.superseded_by IS NOT NULL) ORDER BY ended_at DESC LIMIT 1"
        )
        l1_filter = json.loads(one(current.format("counts_json"), "l1_filter"))
        l1_dedup = json.loads(one(current.format("counts_json"), "l1_dedup"))
        threshold = json.loads(one(current.format("config_json"), "l2_select"))["threshold"]
        return {
            "tiers": {
                t: one("SELECT count(DISTINCT doc_id) FROM membership WHERE tier = ?", t)
                for t in ("L0", "L1", "L2", "L3")
            },
            "rows": {t: one(f"SELECT count(*) FROM {t.lower()}") for t in ("L0", "L1", "L2")},
            "quarantine": one("SELECT count(*) FROM quarantine"),
            "drops": {
                (s, r): n
                for s, r, n in con.execute(
                    "SELECT stage, reason, count(DISTINCT doc_id) FROM drops GROUP BY ALL"
                ).fetchall()
            },
            "dedup": dict(
                con.execute(
                    "SELECT reason, count(*) FROM drops WHERE reason IN ('exact_duplicate', 'near_duplicate') GROUP BY 1"
                ).fetchall()
            ),
            "operators": l1_filter["operators"],
            "l1_dropped": l1_filter["dropped"] + l1_dedup["dropped"],
            "lang": dict(con.execute("SELECT lang, count(*) FROM l1 GROUP BY 1").fetchall()),
            "lang_scored": one("SELECT count(lang_score) FROM l1"),
            "quality_scored": one("SELECT count(quality_score) FROM l2_scores"),
            "threshold": threshold,
            "runs": {r: s for r, s in con.execute("SELECT run_id, status FROM runs").fetchall()},
            "llm_scores": one("SELECT count(llm_score) FROM l3_scores")
            if "llm_score" in [c[0] for c in con.execute("DESCRIBE l3_scores").fetchall()]
            else 0,
        }
    finally:
        con.close()


@needs_chromium
def test_report_on_the_sample_pipeline(pipeline_run, tmp_path):
    root, _ = pipeline_run
    out = tmp_path / "report.html"
    done = tiers("report", "--root", str(root), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    html = out.read_text(encoding="utf-8")
    assert 20_000 < len(html.encode()) < 3_000_000
    page, console = open_in_chromium(out, tmp_path)
    assert console == []
    assert_self_contained(html, page)

    # every panel appears exactly once, as a figure or as a one-line note; the L0-L2 ones are drawn
    assert set(page.figures) | set(page.missing) == ALL_PANELS
    assert not set(page.figures) & set(page.missing)
    assert L0_TO_L2_PANELS <= set(page.figures), page.missing
    for key, shapes in page.figures.items():
        assert shapes >= 5, f"figure {key} is empty"
        assert page.captions.get(key), f"figure {key} has no caption"
        assert len(page.tables[key]) >= 2, f"figure {key} has no table rows"
    assert "L4 is not built yet" in page.missing["l4_grades"]

    expected = catalog_counts(root)
    funnel = {row["stage"]: row["documents"] for row in page.numbers("funnel")}
    assert {t: funnel[t] for t in ("L0", "L1", "L2", "L3")} == expected["tiers"]
    assert funnel["L4"] is None and funnel["quarantine"] == expected["quarantine"]
    assert expected["tiers"]["L0"] > expected["tiers"]["L1"] > expected["tiers"]["L2"] > 0

    assert {(r["stage"], r["reason"]): r["documents"] for r in page.numbers("drops")} == expected["drops"]

    operators = {r["operator"]: r for r in page.numbers("operators")}
    for name, stats in expected["operators"].items():
        assert operators[name]["documents in"] == stats["docs_in"]
        assert operators[name]["dropped"] == stats["docs_in"] - stats["docs_out"]
        assert operators[name]["seconds"] == pytest.approx(stats["seconds"], abs=1e-3)
    assert operators["exact dedup"]["dropped"] == expected["dedup"].get("exact_duplicate", 0)
    assert operators["near dedup (MinHash)"]["dropped"] == expected["dedup"].get("near_duplicate", 0)
    assert sum(r["dropped"] for r in operators.values()) == expected["l1_dropped"]

    languages = {r["lang"]: r["documents"] for r in page.numbers("languages")}
    assert sum(languages.values()) == expected["rows"]["L1"]
    top = max(expected["lang"], key=expected["lang"].get)
    assert languages[top] == expected["lang"][top]
    lang_bins = page.numbers("lang_score")
    assert sum(v for r in lang_bins for k, v in r.items() if k not in ("from", "to")) == expected["lang_scored"]

    quality = page.numbers("quality_score")
    assert sum(v for r in quality for k, v in r.items() if k not in ("from", "to")) == expected["quality_scored"]
    assert f"threshold {expected['threshold']:g}" in page.captions["quality_score"]
    if float(expected["threshold"] * 20).is_integer():  # the threshold is a bin edge: bins above it hold exactly L2
        above = sum(
            v for r in quality if r["from"] >= expected["threshold"] for k, v in r.items() if k not in ("from", "to")
        )
        assert above == expected["tiers"]["L2"]

    lengths = page.numbers("doc_length")
    for tier in ("L0", "L1", "L2"):
        assert sum(r[tier] for r in lengths) == expected["rows"][tier]

    removed = {r["dedup"]: r["documents removed"] for r in page.numbers("dedup_removed")}
    assert removed == {
        "exact": expected["dedup"].get("exact_duplicate", 0),
        "near (MinHash)": expected["dedup"].get("near_duplicate", 0),
    }
    clusters = page.numbers("dedup_clusters")
    assert sum((r["cluster size"] - 1) * r["exact clusters"] for r in clusters) == removed["exact"]

    assert {r["run_id"]: r["status"] for r in page.numbers("runs")} == expected["runs"]
    assert ("llm_score" in page.figures) == (expected["llm_scores"] > 0)

    shot = tmp_path / "report.png"
    taken = chromium(
        out.resolve().as_uri(), tmp_path, "--hide-scrollbars", "--window-size=1000,4000", f"--screenshot={shot}"
    )
    assert taken.returncode == 0 and shot.stat().st_size > 50_000  # a blank page compresses to a few KB


@needs_chromium
def test_report_on_an_empty_root(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    done = tiers("report", "--root", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    out = root / "report.html"
    page, console = open_in_chromium(out, tmp_path)
    assert console == []
    assert page.figures == {} and set(page.missing) == ALL_PANELS
    assert all("no job has run on this root yet" in text for text in page.missing.values())
    assert sorted(p.name for p in root.iterdir()) == ["report.html"]  # a report creates no catalog


def test_unknown_run_exits_2(pipeline_run, tmp_path):
    root, _ = pipeline_run
    done = tiers("report", "--root", str(root), "--out", str(tmp_path / "r.html"), "--run", "no-such-run")
    assert done.returncode == 2 and "no run 'no-such-run'" in done.stderr
    assert not (tmp_path / "r.html").exists()


@needs_chromium
def test_report_on_a_root_with_only_l0(spark, test_config, tmp_path):
    from jobs.ingest import run_ingest

    root = tmp_path / "l0only"
    result = run_ingest(spark, test_config, [str(DOLMA_CC)], str(root))
    out = tmp_path / "l0.html"
    done = tiers("report", "--root", str(root), "--out", str(out), "--run", result.run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    page, console = open_in_chromium(out, tmp_path)
    assert console == []
    assert {"funnel", "doc_length", "runs"} <= set(page.figures)
    funnel = {r["stage"]: r["documents"] for r in page.numbers("funnel")}
    assert funnel["L0"] == result.counts["l0"] > 0 and funnel["L1"] == 0 and funnel["L2"] == 0
    assert sum(r["L0"] for r in page.numbers("doc_length")) == result.counts["l0"]
    for key in (
        "drops",
        "operators",
        "languages",
        "quality_score",
        "dedup_clusters",
        "llm_usage",
        "experiments",
        "allocation",
    ):
        assert key in page.missing, key
    assert [r["job"] for r in page.numbers("runs")] == ["ingest"]

    status = tiers("catalog", "status", "--root", str(root))
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"funnel: L0 {result.counts['l0']:,} → L1 0 (0%) → L2 0 (0%)" in status.stdout


@needs_chromium
def test_tokens_experiments_and_llm_usage_sections(tmp_path):
    """Sections fed by tables that the sample pipeline does not fill, written through the catalog's own writers:
    an L1 output with an n_tokens column (committed by JobRun), two rounds of verification experiments and
    one run's LLM usage."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.runner import JobRun
    from tiers.catalog import Catalog

    root = tmp_path / "root"
    catalog = Catalog(root)
    docs = pa.table(
        {
            "doc_id": [f"d{i}" for i in range(6)],
            "text": ["word " * (10 * (i + 1)) for i in range(6)],
            "lang": ["en"] * 4 + ["de"] * 2,
            "lang_score": [0.9, 0.8, 0.95, 0.99, 0.7, 0.85],
            "n_tokens": [11, 22, 33, 44, 55, 66],
        }
    )
    with JobRun(catalog, "l1_with_tokens", {"test": "report"}) as run:
        staged = Path(run.stage("L1", tier="L1"))
        staged.mkdir(parents=True)
        pq.write_table(docs.append_column("run_id", pa.array([run.run_id] * 6)), staged / "part-0.parquet")
        l1_run = run.commit({"l1": 6}).run_id
    experiments = [
        ("loop-a", 0, "gold", 0.028, 0.026, 0.030, True),
        ("loop-a", 0, "spam", -0.004, -0.007, -0.001, False),
        ("loop-a", 1, "classifier", 0.011, -0.002, 0.020, False),
    ]
    for loop_id, round_index, pool, delta, low, high, accepted in experiments:
        catalog.record_experiment(loop_id, round_index, pool, "{}", "{}", "{}", delta, low, high, accepted, 54.0, 1000)
    catalog.record_llm_usage(
        l1_run,
        "SmolLM2-135M",
        "llama_cpp",
        {
            "requests_sent": 12,
            "cache_hits": 3,
            "prompt_tokens": 4000,
            "completion_tokens": 600,
            "wall_seconds": 20.0,
            "tokens_per_second": 230.0,
            "gpu_hours_per_billion_tokens": 1207.7,
        },
    )

    out = tmp_path / "report.html"
    done = tiers("report", "--root", str(root), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    page, console = open_in_chromium(out, tmp_path)
    assert console == []
    assert {"funnel", "languages", "experiments", "llm_usage"} <= set(page.figures)
    funnel = {r["stage"]: r for r in page.numbers("funnel")}
    assert funnel["L1"]["documents"] == 6 and funnel["L1"]["tokens"] == sum(docs.column("n_tokens").to_pylist())
    assert funnel["L0"]["tokens"] is None  # L0 has no n_tokens column
    table = [
        (r["pool"], r["round"], r["delta"], r["ci low"], r["ci high"], r["decision"])
        for r in page.numbers("experiments")
    ]
    assert table == [(p, r, d, lo, hi, "accepted" if a else "rejected") for _, r, p, d, lo, hi, a in experiments]
    usage = page.numbers("llm_usage")[0]
    assert (usage["requests"], usage["prompt tokens"], usage["tokens per second"]) == (12, 4000, 230)
    assert {r["lang"]: r["documents"] for r in page.numbers("languages")} == {"en": 4, "de": 2}
