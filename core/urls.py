from django.urls import path

from core.apis import RealtimePingApi

urlpatterns = [
    path("realtime/ping/", RealtimePingApi.as_view(), name="realtime-ping"),
]
