"""`feed.visible_ids.visible_post_ids` answers exactly what `posts_visible_to` (and, with `unseen`, For You's
rule: not one's own, not watched) answers, for every kind of viewer over the visibility matrix, though its SQL
is built once per kind of viewer; and a rule it cannot reuse is asked afresh, still right."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from feed import visible_ids
from feed.models import PostView
from feed.selectors import posts_visible_to
from feed.visible_ids import visible_post_ids
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts(world, person):
    """Every audience, with and without the cameo, for adults only, taken down, unpublished, and a post of
    an adult stranger showing a minor's cameo (teen rule)."""
    author, cameo, _ = world
    minor_cameo = CameoFactory(owner=person("kid", birth_date=date.today() - timedelta(days=15 * 365)))
    now = timezone.now()
    made = []
    for visibility in ("public", "followers", "mutuals", "private"):
        for cameos in ([], [cameo]):
            made.append(
                GenerationFactory(
                    requester=author, cameos=cameos, published_at=now, post__visibility=visibility
                )
            )
    made += [
        GenerationFactory(requester=author, published_at=now, post__adults_only=True),
        GenerationFactory(requester=author, published_at=now, removed_at=now),
        GenerationFactory(requester=author),
        GenerationFactory(requester=author, cameos=[minor_cameo], published_at=now),
    ]
    return [generation.pk for generation in made]


def viewers_of_every_kind(world, person) -> dict:
    _, _, viewers = world
    return {
        **viewers,
        "minor": person("teen", birth_date=date.today() - timedelta(days=16 * 365)),
        "unknown_age": person("unknown", birth_date=None),
    }


def test_it_answers_what_the_rule_answers_for_every_viewer(world, person, posts):
    everyone = viewers_of_every_kind(world, person)
    PostView.objects.create(viewer=everyone["follower"], post_id=posts[0], watch_ms=1000)

    for name, viewer in everyone.items():
        expected = set(posts_visible_to(viewer).filter(pk__in=posts).values_list("pk", flat=True))
        assert visible_post_ids(viewer=viewer, post_ids=posts) == expected, name
        unseen = set(visible_ids._rule(viewer, unseen=True).filter(pk__in=posts).values_list("pk", flat=True))
        assert visible_post_ids(viewer=viewer, post_ids=posts, unseen=True) == unseen, name
    assert posts[0] not in visible_post_ids(viewer=everyone["follower"], post_ids=posts, unseen=True)
    assert visible_post_ids(viewer=everyone["author"], post_ids=posts, unseen=True) == set()  # own posts
    # The answers differ between viewers of one kind: the viewer's id reached the SQL as a parameter.
    assert visible_post_ids(viewer=everyone["follower"], post_ids=posts) != visible_post_ids(
        viewer=everyone["stranger"], post_ids=posts
    )
    assert all(compiled is not None for compiled in visible_ids._compiled.values())


def test_a_rule_that_puts_the_viewer_into_its_sql_is_asked_afresh(world, posts, monkeypatch):
    _, _, viewers = world
    visible_ids._compiled.clear()

    def rule_with_the_viewer_inlined(viewer):
        return posts_visible_to(viewer).extra(
            where=[f"generation_generation.id <> {viewer.pk or 0} + {posts[0]}"]
        )

    monkeypatch.setattr(visible_ids, "posts_visible_to", rule_with_the_viewer_inlined)
    for name in ("follower", "stranger"):
        viewer = viewers[name]
        expected = set(rule_with_the_viewer_inlined(viewer).filter(pk__in=posts).values_list("pk", flat=True))
        assert visible_post_ids(viewer=viewer, post_ids=posts) == expected, name
    assert list(visible_ids._compiled.values()) == [None]  # the check refused to reuse it
    visible_ids._compiled.clear()


def test_no_ids_no_query(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert visible_post_ids(viewer=world[2]["follower"], post_ids=[]) == set()


def _anti_joins_over(plan: dict, table: str) -> list[dict]:
    """The anti-join nodes of an EXPLAIN (FORMAT JSON) plan that read `table` below them."""

    def reads(node: dict) -> bool:
        return node.get("Relation Name") == table or any(reads(child) for child in node.get("Plans", []))

    found = [plan] if plan.get("Join Type") == "Anti" and reads(plan) else []
    return found + [node for child in plan.get("Plans", []) for node in _anti_joins_over(child, table)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_watched_are_left_out_by_a_probe_per_post_not_an_anti_join(world, posts):
    """Planned once for any number of ids, a `NOT EXISTS` over the viewer's views became an anti-join that
    compared every candidate with every post the viewer ever watched (0.1-0.5 s for the heaviest watchers
    over a ranking's ~1,000 candidates at 1M posts, bench/feed_statements.py); the rule asks the
    (post, viewer) index once per post instead, whatever the plan."""
    viewer = world[2]["follower"]
    sql, template = visible_ids._compile(visible_ids._kind(viewer), unseen=True)
    params = [viewer.pk if value is None else value for value in template]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    assert _anti_joins_over(plan["Plan"], "feed_postview") == []
    assert "feed_view_once" in str(plan)  # the (post, viewer) index
