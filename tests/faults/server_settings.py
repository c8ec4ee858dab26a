"""The production settings, as gunicorn serves them in the fault tests.

Only one thing differs: static files are looked up in the source folders
(``StaticFilesStorage``) because the tests do not run ``collectstatic``; the
production storage would refuse to render a page without its manifest.
"""

from config.settings import *  # noqa: F403 - these *are* the production settings
from config.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
