"""Stable identities of knowledge items."""

from __future__ import annotations

from tiers.l4.identity import canonical_key, ki_id


def test_ki_id_ignores_case_punctuation_and_articles_but_not_what_is_said_or_where():
    base = ki_id("qa", "When did the Tay Bridge open?", "1878", "p1")
    assert base == ki_id("qa", "when did the  tay bridge open", "1878.", "p1")
    assert base == ki_id("qa", "When did the Tay Bridge open?", "1878", "p1")  # stable across calls
    assert (
        len(
            {
                base,
                ki_id("qa", "When did the Tay Bridge open?", "1878", "p2"),
                ki_id("qa", "When did the Tay Bridge open?", "1879", "p1"),
                ki_id("fact", "When did the Tay Bridge open?", "1878", "p1"),
                ki_id("qa", "When did the Tay Bridge close?", "1878", "p1"),
            }
        )
        == 5
    )


def test_canonical_key_has_no_passage():
    assert canonical_key("fact", "The Tay Bridge opened in 1878.", None) == canonical_key(
        "fact", "the tay bridge opened in 1878", ""
    )
    assert canonical_key("fact", "The Tay Bridge opened in 1878.", None) != canonical_key(
        "fact", "The Tay Bridge opened in 1879.", None
    )
