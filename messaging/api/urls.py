from django.urls import path

from messaging.api.views import SendSmsDetailView, SendSmsView

urlpatterns = [
    path("sendsms/", SendSmsView.as_view(), name="sendsms"),
    path("sendsms/<int:request_id>/", SendSmsDetailView.as_view(), name="sendsms-detail"),
]
