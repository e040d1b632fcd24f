from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("swagger/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger"),
    path("", include("messaging.api.urls")),
    path("", include("verifications.api.urls")),
]

handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"
