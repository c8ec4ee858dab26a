# The send-code control is a template include used by the account pages
# (see views.send_code_from_form); this app has no pages of its own.
app_name = "smscodes"
urlpatterns: list = []
