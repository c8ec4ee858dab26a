from django.urls import path

from wallet import views

app_name = "wallet"

urlpatterns = [
    path("wallet/", views.wallet_page, name="wallet"),
    path("wallet/top-up/", views.top_up, name="top-up"),
    path("wallet/pay/", views.pay, name="pay"),
]
