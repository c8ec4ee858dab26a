from django.urls import path

from wallet import api

urlpatterns = [
    path("wallet/", api.WalletView.as_view(), name="api-wallet"),
    path("wallet/top-ups/", api.TopUpListView.as_view(), name="api-wallet-top-ups"),
    path("wallet/top-ups/<str:top_up_id>/", api.TopUpDetailView.as_view(), name="api-wallet-top-up"),
    path("wallet/notify/<str:channel>/", api.NotifyView.as_view(), name="api-wallet-notify"),
    path("wallet/payments/", api.PaymentView.as_view(), name="api-wallet-payments"),
    path("wallet/transactions/", api.TransactionListView.as_view(), name="api-wallet-transactions"),
]
