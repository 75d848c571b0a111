"""The content policy's word rules: what they catch, and everyday prompts they must let through."""

import pytest

from generation import policy


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a 9-year-old runs", "policy_minors"),
        ("aged 15, she skates", "policy_minors"),
        ("kids play tag", "policy_minors"),
        ("a little boy laughs", "policy_minors"),
        ("s3xy dance", "policy_blocked_category"),
        (
            "N U D E statue",
            None,
        ),  # spaced-out letters are beyond word rules: the output checks see the frames
        ("a bloodbath in the hall", "policy_blocked_category"),
        ("heil hitler", "policy_blocked_category"),
        ("Elon   musk launches a rocket", "policy_real_person"),
    ],
)
def test_refusals(text, code):
    refusal = policy.prompt_refusal(text, mentions_people=False)
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    "text",
    [
        "@maya plays chess on the moon",
        "a minor chord on the piano",
        "chicken breast on the grill",
        "smoke rises from a volcano",
        "a 30 year old surfer",
        "the skyscraper's shadow at dusk",
        "@leo kicks a football",
    ],
)
def test_everyday_prompts_pass(text):
    assert policy.prompt_refusal(text, mentions_people=True) is None


def test_restrictions_match_topics_and_whole_forbidden_words():
    assert policy.restriction_hit("they kiss", categories=["romance"], forbidden_words=[]) == {
        "category": "romance",
        "matched": "kiss",
    }
    assert policy.restriction_hit("catalogue", categories=[], forbidden_words=["cat"]) is None
    assert policy.restriction_hit("the CAT sleeps", categories=[], forbidden_words=["cat"]) == {"word": "cat"}
    assert policy.restriction_hit("they kiss", categories=["horror"], forbidden_words=[]) is None
