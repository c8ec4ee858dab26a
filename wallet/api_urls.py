from django.urls import path

from wallet import api, api_charges

# The resolver tries patterns in order: the hottest requests first, the person's wallet (a read
# the mobile app makes on every screen) and a charge. None of these patterns overlap.
urlpatterns = [
    path("wallet/", api.WalletView.as_view(), name="api-wallet"),
    # The app's own backend (client applications with API keys): wallet.api_charges.
    path("wallet/charges/", api_charges.ChargeListView.as_view(), name="api-wallet-charges"),
    path("wallet/charges/<str:charge_id>/", api_charges.ChargeDetailView.as_view(), name="api-wallet-charge"),
    path(
        "wallet/charges/<str:charge_id>/refunds/",
        api_charges.ChargeRefundView.as_view(),
        name="api-wallet-charge-refunds",
    ),
    path("wallet/top-ups/", api.TopUpListView.as_view(), name="api-wallet-top-ups"),
    path("wallet/top-ups/<str:top_up_id>/", api.TopUpDetailView.as_view(), name="api-wallet-top-up"),
    path("wallet/notify/<str:channel>/", api.NotifyView.as_view(), name="api-wallet-notify"),
    path("wallet/transactions/", api.TransactionListView.as_view(), name="api-wallet-transactions"),
]
