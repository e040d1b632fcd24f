from django.urls import path

from verifications.api.views import (
    VerificationCancelView,
    VerificationCheckByPhoneView,
    VerificationCheckView,
    VerificationDetailView,
    VerificationsView,
)

urlpatterns = [
    path("verifications/", VerificationsView.as_view(), name="verifications"),
    path("verifications/check/", VerificationCheckByPhoneView.as_view(), name="verifications-check"),
    path("verifications/<uuid:verification_id>/", VerificationDetailView.as_view(), name="verification-detail"),
    path("verifications/<uuid:verification_id>/check/", VerificationCheckView.as_view(), name="verification-check"),
    path("verifications/<uuid:verification_id>/cancel/", VerificationCancelView.as_view(), name="verification-cancel"),
]
