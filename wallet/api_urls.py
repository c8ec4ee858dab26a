from django.urls import path

from wallet import api

urlpatterns = [
    path("wallet/", api.WalletView.as_view(), name="api-wallet"),
    path("wallet/top-ups/", api.TopUpView.as_view(), name="api-wallet-top-ups"),
    path("wallet/payments/", api.PaymentView.as_view(), name="api-wallet-payments"),
    path("wallet/transactions/", api.TransactionListView.as_view(), name="api-wallet-transactions"),
]
