from django.urls import path

from wallet import views

app_name = "wallet"

urlpatterns = [
    path("wallet/", views.wallet_page, name="wallet"),
    path("wallet/top-up/", views.top_up, name="top-up"),
    path("wallet/top-ups/<str:top_up_id>/", views.top_up_result, name="top-up-result"),
    # The sandbox provider's checkout (API.md: whoever holds the URL can pay).
    path("wallet/sandbox/<str:token>/", views.sandbox_checkout_page, name="sandbox-checkout"),
]
