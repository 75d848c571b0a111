from django.db.models import QuerySet

from accounts.models import User
from moderation.models import Report


def reports_of_reporter(*, reporter: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=reporter).select_related("target_type")
