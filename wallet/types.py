"""Type names the wallet shares between its modules."""

from typing import Any

# A person is ``settings.AUTH_USER_MODEL`` (accounts.User). The layering rule
# lets wallet import nothing of accounts but its selectors, so to the type
# checker a person is Any; the services check what they rely on at run time
# (``is_active``, ``is_staff``, ``has_perm``).
Person = Any
