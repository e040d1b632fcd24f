from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from smsproject.health import provider_health_view
from smsproject.metrics import metrics_view

# The API description is public: a missing or wrong client key must not hide it.
_PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}


def index(request: HttpRequest) -> JsonResponse:
    """What a person opening the root URL looks for: where the docs, the admin and the probes are."""
    return JsonResponse(
        {
            "service": "SMS verification gateway",
            "docs": {"swagger": reverse("swagger"), "redoc": reverse("redoc"), "openapi": reverse("schema")},
            "admin": reverse("admin:index"),
            "probes": {"liveness": "/healthz", "readiness": "/readyz"},
            "send": {"method": "POST", "path": reverse("sendsms"), "auth": "Authorization: Token <client key>"},
        }
    )


urlpatterns = [
    path("", index, name="index"),
    path("admin/provider-health/", admin.site.admin_view(provider_health_view), name="provider-health"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("schema/", SpectacularAPIView.as_view(**_PUBLIC), name="schema"),
    path("swagger/", SpectacularSwaggerView.as_view(url_name="schema", **_PUBLIC), name="swagger"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="common/redoc.html", **_PUBLIC),
        name="redoc",
    ),
    path("", include("messaging.api.urls")),
    path("", include("verifications.api.urls")),
]

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
