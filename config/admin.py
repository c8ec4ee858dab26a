"""Admin pieces shared by the apps."""


class ReadOnlyAdminMixin:
    """For records nobody edits by hand: logs, audit trails, ledger entries.

    Corrections happen through services (a new ledger entry, a new event),
    never by changing or deleting a row in the admin.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
