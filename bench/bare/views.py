"""``POST /sendsms/`` as a bare DRF view: same parser, authentication and serializer, nothing stored or queued.

It is the floor the real endpoint is measured against: what Django + DRF cost on this machine before the
gateway does any work of its own.
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.api.serializers import SendSmsInputSerializer


class BareSendSmsView(APIView):
    def post(self, request: Request) -> Response:
        serializer = SendSmsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            {"id": 0, "flag": "PENDING", "phone": serializer.validated_data["phone"]}, status=status.HTTP_202_ACCEPTED
        )
