from django.contrib import admin

from clients.models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at"]
    fields = ["name", "key_prefix", "is_active", "created_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        # A key is shown once, on the command line: `manage.py create_client NAME`.
        return False
