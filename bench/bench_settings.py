"""Production settings plus the bench's reference view (``bench/bench_urls.py``); used only by bench/api_ratios.py."""

from config.settings import *  # noqa: F403 - the production settings, unchanged but for the URLconf

ROOT_URLCONF = "bench_urls"
