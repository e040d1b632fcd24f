from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from messaging.api.metrics import metrics_view

# The API description is public: a missing or wrong client key must not hide it.
_PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("schema/", SpectacularAPIView.as_view(**_PUBLIC), name="schema"),
    path("swagger/", SpectacularSwaggerView.as_view(url_name="schema", **_PUBLIC), name="swagger"),
    path("", include("messaging.api.urls")),
    path("", include("verifications.api.urls")),
]

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
