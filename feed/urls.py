from django.urls import path

from feed import apis

urlpatterns = [path("feed/", apis.FeedApi.as_view(), name="feed")]
