"""A URL configuration with one view that fails, for the tests of what a failed request logs."""

from django.http import HttpRequest, HttpResponse
from django.urls import path


def failing_view(request: HttpRequest) -> HttpResponse:
    raise ZeroDivisionError("the view divided by zero")


urlpatterns = [path("fails/", failing_view)]
