"""Avatar routes (pages and API), kept apart from the other account routes."""

urlpatterns: list = []
