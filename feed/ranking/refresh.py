"""Ranking a viewer's For You in a worker (`feed.rank_for_you`), so that an active viewer's first page reads
a kept ranking instead of computing one (`feed.ranking.services.for_you_page`)."""

from accounts.models import User
from feed.ranking import snapshot


def ranking_refresh(*, viewer_id: int) -> None:
    """Rank `viewer_id`'s For You afresh and keep it as their current ranking. Safe to run twice (the later
    ranking wins); nothing for an account that is gone or deactivated."""
    # Imported here, when a worker ranks: the ranking needs numpy, and the feed's services import this
    # module through the tasks, which every process loads at start-up (`django.setup()` stays light:
    # tests/cameos/test_likeness.py checks it).
    from feed.ranking.selectors import for_you_ranking

    viewer = User.objects.filter(pk=viewer_id, is_active=True).first()
    if viewer is None:
        return
    snapshot.ranking_store(viewer_id=viewer.pk, post_ids=for_you_ranking(viewer=viewer))
