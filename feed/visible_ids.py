"""`posts_visible_to(viewer)` asked of a list of post ids, with its SQL built once per kind of viewer.

Why: building the visibility rule as a queryset and compiling it to SQL is Python work of ~18 ms a request
on the bench machine (its EXISTS subqueries are resolved and cloned one by one), more than the database
then takes to answer it for a page of ids (bench/RESULTS.md). The rule's SQL depends on the viewer only
through whether they are signed in, whether they are a minor (`User.is_minor`) and today's date (the
adult birth-date cutoff); their id enters only as a parameter. So the SQL is built once per
(`_kind`, date) for a stand-in viewer whose id is a sentinel, and each call puts its viewer's id where the
sentinel was. It is built twice, with two sentinels, and the two compared: if the viewer's id ever entered
the rule other than as a parameter of its own, or a parameter varied between the builds, the check fails
and that kind is built per call instead (correct, only slower). A rule that reads any other attribute of
the viewer must add it to `_kind`; tests/feed/test_visible_ids.py holds these answers to the queryset's
over the whole visibility matrix."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from core.db import ids_condition, ids_parameter, prepared_cursor
from feed.models import PostView
from feed.selectors import posts_visible_to
from generation.models import Generation

# Never an id (ids are positive): the stand-in viewer's, found again among the parameters.
_SENTINELS = (-7_340_041_113_000_001, -7_340_041_113_000_002)
_ADULT_BIRTH_DATE = date(1970, 1, 1)

# (kind, unseen, date, vendor) -> (sql over the ids parameter, parameters with None where the viewer's id goes),
# or None when the check failed for that kind.
_compiled: dict[tuple[Any, ...], tuple[str, list[Any]] | None] = {}


def _kind(viewer: Any) -> tuple[bool, bool]:
    signed_in = viewer is not None and viewer.is_authenticated
    return signed_in, signed_in and viewer.is_minor


def _rule(viewer: Any, *, unseen: bool) -> QuerySet[Generation]:
    posts = posts_visible_to(viewer)
    if unseen and _kind(viewer)[0]:  # anonymous has no posts and watched none
        # A probe per post of the (post, viewer) index, as a scalar subquery: written as NOT EXISTS it
        # became an anti-join that, with the id list's size unknown to a prepared plan, was planned for
        # one row and compared every candidate with every post the viewer ever watched (half of the
        # rule's time over a ranking's ~1,000 candidates at 1M posts).
        seen = PostView.objects.filter(post_id=OuterRef("pk"), viewer=viewer).values("post_id")[:1]
        posts = posts.exclude(requester=viewer).annotate(seen=Subquery(seen)).filter(seen__isnull=True)
    return posts


def _stand_in(kind: tuple[bool, bool], pk: int) -> User:
    _, minor = kind
    return User(pk=pk, birth_date=None if minor else _ADULT_BIRTH_DATE)


def _compile(kind: tuple[bool, bool], unseen: bool) -> tuple[str, list[Any]] | None:
    if not kind[0]:
        sql, params = _rule(None, unseen=False).values_list("pk").query.sql_with_params()
        return sql, list(params)
    builds = [
        _rule(_stand_in(kind, sentinel), unseen=unseen).values_list("pk").query.sql_with_params()
        for sentinel in _SENTINELS
    ]
    (sql, params), (other_sql, other_params) = builds
    if sql != other_sql or len(params) != len(other_params):
        return None
    template: list[Any] = []
    for value, other in zip(params, other_params, strict=True):
        if (value, other) == _SENTINELS:
            template.append(None)
        elif value == other and value not in _SENTINELS:
            template.append(value)
        else:
            return None
    return sql, template


def visible_post_ids(*, viewer: Any, post_ids: Sequence[int], unseen: bool = False) -> set[int]:
    """Those of `post_ids` that `viewer` may see (`feed.selectors.posts_visible_to`); with `unseen`, also
    leaving out `viewer`'s own posts and those they watched (a `PostView`). One query."""
    if not post_ids:
        return set()
    kind = _kind(viewer)
    # The date: the rule's adult birth-date cutoff; the vendor: the SQL's dialect.
    key = (kind, unseen and kind[0], timezone.localdate(), connection.vendor)
    if key not in _compiled:
        if len(_compiled) > 64:  # yesterday's entries
            _compiled.clear()
        _compiled[key] = _compile(kind, unseen and kind[0])
    compiled = _compiled[key]
    if compiled is None:
        return set(_rule(viewer, unseen=unseen).filter(pk__in=post_ids).values_list("pk", flat=True))
    rule_sql, template = compiled
    params = [viewer.pk if value is None else value for value in template]
    sql = f"SELECT visible.pk FROM ({rule_sql}) visible WHERE {ids_condition('visible.pk')}"
    with prepared_cursor() as cursor:  # planned once per connection
        cursor.execute(sql, [*params, ids_parameter(post_ids)])
        return {pk for (pk,) in cursor.fetchall()}
