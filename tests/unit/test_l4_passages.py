"""Passages of whole lines within token bounds, with stable ids and exact offsets."""

from __future__ import annotations


from tiers.l4.passages import estimate_tokens, split_passages


def _lines(n: int, words: int = 10) -> str:
    return "".join(" ".join(f"w{i}x{j}" for j in range(words)) + ".\n" for i in range(n))


def _check_exact(text, passages):
    for p in passages:
        assert text[p.start : p.end] == p.text and p.text == p.text.strip()
    assert all(a.end <= b.start for a, b in zip(passages, passages[1:]))
    assert "".join("".join(text[p.start : p.end] for p in passages).split()) == "".join(text.split())


def test_lines_are_grouped_whole_within_the_bounds():
    text = _lines(40)  # 13 estimated tokens a line
    passages = split_passages("doc", text, min_tokens=30, max_tokens=60)
    _check_exact(text, passages)
    assert len(passages) >= 8
    for p in passages:
        assert 30 <= estimate_tokens(p.text) <= 60
        assert (p.start == 0 or text[p.start - 1] == "\n") and (p.end == len(text) or text[p.end] == "\n")


def test_a_short_tail_joins_the_passage_before_it():
    text = _lines(5) + "Tail.\n"  # four lines fill 52 of 60 tokens; the fifth and the tail make 15, under 30
    [only] = split_passages("doc", text, min_tokens=30, max_tokens=60)
    assert only.text == text.strip()
    assert (
        len(split_passages("doc", _lines(9), min_tokens=30, max_tokens=60)) == 2
    )  # 52, 52 and a 13-token tail that joins the second
    assert len(split_passages("doc", "Only a short line.\n", 30, 60)) == 1  # nothing to join: kept


def test_an_overlong_line_is_cut_at_sentence_ends():
    sentences = [f"Sentence {i} says something about bridges and storms and rivers." for i in range(30)]
    text = "A heading\n" + " ".join(sentences) + "\n"
    passages = split_passages("doc", text, min_tokens=30, max_tokens=80)
    _check_exact(text, passages)
    assert len(passages) >= 4
    for p in passages:
        assert estimate_tokens(p.text) <= 80 + 30
        assert p.text.endswith(".")


def test_a_sentence_longer_than_a_passage_is_cut_at_words():
    text = " ".join(f"word{i}" for i in range(400))
    passages = split_passages("doc", text, min_tokens=30, max_tokens=100)
    _check_exact(text, passages)
    assert len(passages) >= 4 and all(estimate_tokens(p.text) <= 130 for p in passages)


def test_the_token_counter_can_be_given():
    text = _lines(20)
    by_chars = split_passages("doc", text, min_tokens=30, max_tokens=200, count_tokens=len)
    assert all(len(p.text) <= 200 for p in by_chars)
    assert len(by_chars) > len(split_passages("doc", text, min_tokens=30, max_tokens=200))


def test_ids_are_stable_distinct_and_depend_on_document_and_offsets():
    text = _lines(40)
    first = split_passages("doc-1", text, 30, 60)
    assert [p.passage_id for p in split_passages("doc-1", text, 30, 60)] == [p.passage_id for p in first]
    assert len({p.passage_id for p in first}) == len(first)
    assert not {p.passage_id for p in first} & {p.passage_id for p in split_passages("doc-2", text, 30, 60)}
    shifted = split_passages("doc-1", "\n" + text, 30, 60)
    assert shifted[0].text == first[0].text and shifted[0].passage_id != first[0].passage_id


def test_empty_and_blank_documents_have_no_passages():
    assert split_passages("doc", "") == [] and split_passages("doc", " \n\n \n") == []


def test_a_long_run_of_words_is_cut_by_the_given_counter():
    text = " ".join(f"longword{i}" for i in range(300))  # one sentence, about 3,300 characters
    passages = split_passages("doc", text, min_tokens=30, max_tokens=200, count_tokens=len)
    _check_exact(text, passages)
    assert len(passages) >= 15 and all(len(p.text) <= 200 + 30 for p in passages)
