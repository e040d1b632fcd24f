from django.urls import path

from bench.bare.views import BareSendSmsView

urlpatterns = [path("sendsms/", BareSendSmsView.as_view(), name="bare-sendsms")]
