"""scripts/import_graph.py keeps the project free of import circles and upward imports (issue 28)."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("import_graph", REPO / "scripts" / "import_graph.py")
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_repository_has_no_circle_and_no_upward_import():
    edges = import_graph.graph(REPO)
    assert import_graph.cycles(edges) == []
    assert import_graph.upward(edges) == []


def test_a_circle_hidden_behind_importlib_is_seen(tmp_path):
    root = _tree(
        tmp_path,
        {
            "tiers/__init__.py": "",
            "tiers/ops/__init__.py": "",
            "tiers/ops/registry.py": 'import importlib\n\ndef load():\n    importlib.import_module("tiers.ops.one")\n',
            "tiers/ops/one.py": "from tiers.ops.registry import load\n",
        },
    )
    assert import_graph.cycles(import_graph.graph(root)) == [["tiers.ops.one", "tiers.ops.registry"]]


def test_a_ground_floor_module_importing_an_application_is_upward(tmp_path):
    root = _tree(
        tmp_path,
        {
            "tiers/__init__.py": "",
            "tiers/catalog/__init__.py": "",
            "tiers/catalog/catalog.py": "def refresh():\n    from tiers.apps.allocation.store import ensure_tables\n",
            "tiers/apps/__init__.py": "",
            "tiers/apps/allocation/__init__.py": "",
            "tiers/apps/allocation/store.py": "from tiers.catalog.catalog import refresh\n\ndef ensure_tables():\n    pass\n",
            "tiers/l4/__init__.py": "",
            "tiers/l4/promote.py": "from tiers.apps.allocation.store import ensure_tables\n",
            "tiers/io/__init__.py": "",
            "tiers/io/readers.py": 'from importlib import import_module\n\nCONFIG = import_module("tiers.config")\n',
            "tiers/config.py": "",
        },
    )
    assert import_graph.upward(import_graph.graph(root)) == [
        ("tiers.catalog.catalog", "tiers.apps.allocation.store"),
        ("tiers.io.readers", "tiers.config"),
        ("tiers.l4.promote", "tiers.apps.allocation.store"),
    ]


def test_floors_inside_tiers():
    assert import_graph.floor("tiers.ops.base") == import_graph.floor("tiers.catalog") == 0
    assert import_graph.floor("tiers.llm.prompts") == 0
    assert import_graph.floor("tiers.config") == 1
    assert import_graph.floor("tiers.l3.refine") == import_graph.floor("tiers.l4.knowledge") == 2
    assert import_graph.floor("tiers.apps.report.flow") == import_graph.floor("tiers.apps.allocation") == 3
