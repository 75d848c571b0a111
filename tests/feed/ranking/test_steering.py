import pytest

from feed.ranking.steering import MAX_TERMS, parse_steering


@pytest.mark.parametrize(
    ("text", "more", "less"),
    [
        ("more animals, less sports", ["animals"], ["sports"]),
        ("less sports and politics, more cats", ["cats"], ["sports", "politics"]),
        ("no horror; fewer ads but more of dancing", ["dancing"], ["horror", "ads"]),
        ("Cats!", ["cats"], []),
        ("more cats, MORE cats", ["cats"], []),
        ("more", [], []),
        (" , and ", [], []),
    ],
)
def test_clauses_are_read_as_documented(text, more, less):
    steering = parse_steering(text)
    assert (list(steering.more), list(steering.less)) == (more, less)


def test_terms_are_capped():
    steering = parse_steering(", ".join(f"topic{n}" for n in range(20)))
    assert len(steering.more) == MAX_TERMS
