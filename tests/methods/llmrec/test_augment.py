"""LLMRec's prompts, answer parsing, triples from answers and the augmentation artefacts."""

from __future__ import annotations

import json

import pytest
import torch

from plexus.errors import ConfigError
from plexus.methods.llmrec import augment as A
from plexus.methods.llmrec import prompts as P


def test_implicit_parser_accepts_json_in_prose_and_rejects_nonsense():
    parse = P.implicit_parser(5)
    assert parse('Sure! {"liked": 2, "disliked": "5"} hope that helps') == (2, 5)
    for bad in ("I like movie 3", '{"liked": 6, "disliked": 1}', '{"liked": 2, "disliked": 2}',
                '{"liked": "two", "disliked": 1}', '{"liked": true, "disliked": 1}', '[1, 2]', '{"liked": 1'):
        with pytest.raises(ValueError):
            parse(bad)


def test_fields_parser_keeps_known_non_empty_fields():
    parse = P.fields_parser(P.ATTRIBUTE_FIELDS)
    assert parse('{"director": " John  Lasseter ", "country": "", "language": ["English", "French"], "x": 1}') == \
        {"director": "John Lasseter", "language": "English, French"}
    with pytest.raises(ValueError):
        parse('{"country": "", "other": "USA"}')


def test_triples_from_answers_reject_and_count():
    candidates = torch.tensor([[10, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42], [50, 51, 52]])
    history = [[1], [2], [3], [41], [5]]
    answers = {0: (2, 3), 1: None, 2: (4, 1), 3: (2, 1), 4: (1, 1)}
    triples, counts = A.build_triples(answers, candidates, history)
    assert triples.tolist() == [[0], [11], [12]]  # user 0: liked candidate 2 = item 11, disliked 3 = item 12
    assert counts == {"accepted": 1, "unanswered": 1, "not_candidate": 1, "same_item": 1, "training_item": 1}


def test_bundled_prompts_fill_and_override(tmp_path):
    prompt = P.load_prompt("implicit_feedback")
    msgs = prompt.messages(history=P.numbered(["A (1999) | Drama"]), candidates=P.numbered(["B", "C"]))
    assert msgs[0]["role"] == "system" and msgs[1]["role"] == "user"
    assert "1. A (1999) | Drama" in msgs[1]["content"] and "2. C" in msgs[1]["content"]
    own = tmp_path / "mine.txt"
    own.write_text("Pick from $candidates given $history. JSON please.")
    msgs = P.load_prompt("implicit_feedback", str(own)).messages(history="h", candidates="c")
    assert msgs == [{"role": "user", "content": "Pick from c given h. JSON please."}]
    own.write_text("About $movie")
    with pytest.raises(ConfigError, match="placeholder"):
        P.load_prompt("item_attributes", str(own)).messages(item="x")
    with pytest.raises(ConfigError, match="cannot read"):
        P.load_prompt("user_profile", str(tmp_path / "missing.txt"))


def test_texts_of_profiles_and_attributes():
    assert A.attribute_text("Heat (1995) | Action", {"director": "Michael Mann", "language": "English"}) == \
        "director: Michael Mann; language: English"
    assert A.attribute_text("Heat (1995) | Action", None) == "Heat (1995) | Action"
    assert A.profile_text("age 24, male, technician", {"liked_genres": "Action"}, ["Heat"]) == \
        "age 24, male, technician; liked genres: Action"
    assert A.profile_text("", None, ["Heat", "Alien"]) == "watched: Heat, Alien"


def test_artifacts_round_trip_and_refuse_other_data(tmp_path):
    aug = A.Augmentation(candidates=torch.tensor([[1, 2], [0, 2]]), triples=torch.tensor([[0], [1], [2]]),
                         attributes={2: {"director": "X"}}, profiles={1: {"age": "30"}},
                         stats={"implicit_feedback": {"calls": 2}})
    A.save_augmentation(tmp_path, aug, ["u1", "u2"], ["i1", "i2", "i3"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["parts"] == ["implicit_feedback", "item_attributes", "user_profile"]
    back = A.load_augmentation(tmp_path, {"implicit_feedback", "item_attributes", "user_profile"}, 2, 3, "test")
    assert torch.equal(back.triples, aug.triples) and torch.equal(back.candidates, aug.candidates)
    assert back.attributes == aug.attributes and back.profiles == aug.profiles
    with pytest.raises(ConfigError, match="2 users and 3 items"):
        A.load_augmentation(tmp_path, {"implicit_feedback"}, 5, 3, "test")
    A.save_augmentation(tmp_path / "b", A.Augmentation(triples=aug.triples), ["u1", "u2"], ["i1", "i2", "i3"])
    with pytest.raises(ConfigError, match="lacks item_attributes"):
        A.load_augmentation(tmp_path / "b", {"implicit_feedback", "item_attributes"}, 2, 3, "test")
    with pytest.raises(ConfigError, match="no manifest"):
        A.load_augmentation(tmp_path / "nothing", {"implicit_feedback"}, 2, 3, "test")


def test_candidates_saved_early_load_back_and_are_checked(tmp_path):
    from plexus.errors import InputError

    cand = torch.tensor([[2, 0], [1, 2]])
    A.save_candidates(tmp_path / "c.jsonl", cand, ["u1", "u2"])
    assert torch.equal(A.load_candidates(tmp_path / "c.jsonl", 2, 3, 2), cand)
    with pytest.raises(InputError, match="do not fit"):
        A.load_candidates(tmp_path / "c.jsonl", 2, 2, 2)  # item 2 does not exist in 2 items
    (tmp_path / "bad.jsonl").write_text('{"u": 0}\nnot json\n')
    with pytest.raises(InputError, match="line 2"):
        A.load_candidates(tmp_path / "bad.jsonl", 2, 3, 2)
