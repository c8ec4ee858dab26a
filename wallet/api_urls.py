"""/api/v1/wallet/ routes (docs/API.md "Wallet", "Charges and refunds"), one group under one prefix:
Django passes over the whole group with one test when a path is not the wallet's."""

from django.urls import include, path

from config.fast_reads import fast_get
from wallet import api, api_charges

wallet = [
    path("", fast_get(api.WalletView, api.wallet_data), name="api-wallet"),
    # The app's own backend (client applications with API keys): wallet.api_charges.
    path("charges/", api_charges.ChargeListView.as_view(), name="api-wallet-charges"),
    path("top-ups/", api.TopUpListView.as_view(), name="api-wallet-top-ups"),
    path("top-ups/<str:top_up_id>/", api.TopUpDetailView.as_view(), name="api-wallet-top-up"),
    path("notify/<str:channel>/", api.NotifyView.as_view(), name="api-wallet-notify"),
    path("transactions/", api.TransactionListView.as_view(), name="api-wallet-transactions"),
    path("charges/<str:charge_id>/", api_charges.ChargeDetailView.as_view(), name="api-wallet-charge"),
    path(
        "charges/<str:charge_id>/refunds/",
        api_charges.ChargeRefundView.as_view(),
        name="api-wallet-charge-refunds",
    ),
]

urlpatterns = [path("wallet/", include(wallet))]
