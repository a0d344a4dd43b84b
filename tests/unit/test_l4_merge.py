"""Grouping exact and near-duplicate items for cross-document merging."""

from __future__ import annotations

from tiers.l4.merge import canonical_groups

ITEMS = [
    ("qa", "When did the Tay Bridge open?", "1878"),
    ("qa", "When was the Tay Bridge opened?", "1878"),  # near duplicate of 0
    ("qa", "When did the Tay Bridge open?", "1879"),  # other answer
    ("fact", "When did the Tay Bridge open?", None),  # other kind
    ("qa", "when did the tay bridge open", "1878."),  # exact duplicate of 0
    ("qa", "Who designed the Tay Bridge?", "Thomas Bouch"),
]


def test_exact_and_near_duplicates_share_the_first_as_canonical():
    assert canonical_groups(ITEMS) == [0, 0, 2, 3, 0, 5]


def test_grouping_is_deterministic_and_follows_the_order_given():
    assert canonical_groups(ITEMS) == canonical_groups(list(ITEMS))
    reordered = [ITEMS[4], *ITEMS[:4], ITEMS[5]]
    assert canonical_groups(reordered) == [0, 0, 0, 3, 4, 5]


def test_the_threshold_controls_near_duplicates():
    pair = [
        ("fact", "The Tay Bridge opened in June 1878 in Dundee.", None),
        ("fact", "The Tay Bridge opened in June 1878 near Dundee Scotland.", None),
    ]
    assert canonical_groups(pair, threshold=0.7) == [0, 0]
    assert canonical_groups(pair, threshold=0.95) == [0, 1]
