from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication


class JWTAuthentication(SimpleJWTAuthentication):
    """Bearer JWT authentication for the API (revocation checks: accounts issue)."""

    www_authenticate_realm = "api"
