import secrets

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import ApplicationError
from core.tasks import realtime_ping_task, task_send


class RealtimePingApi(APIView):
    """Ask a worker to send a `realtime.pong` event to your open sockets: a live end-to-end check."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        nonce = serializers.CharField(help_text="Echoed in the `realtime.pong` event's data.")

    @extend_schema(
        request=None,
        responses={
            202: OutputSerializer,
            503: OpenApiResponse(
                description="The task broker is unreachable (`realtime_unavailable`): no pong will come; "
                "retry with backoff."
            ),
        },
        operation_id="realtime_ping",
    )
    def post(self, request: Request) -> Response:
        nonce = secrets.token_hex(8)
        # Sent now, not on commit: this request writes nothing, and the client must learn that no pong will come.
        if not task_send(realtime_ping_task, request.user.pk, nonce):
            raise ApplicationError(
                "realtime_unavailable",
                "The realtime service is unreachable right now; retry with backoff.",
                status=503,
            )
        return Response(self.OutputSerializer({"nonce": nonce}).data, status=status.HTTP_202_ACCEPTED)
