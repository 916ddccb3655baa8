"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
application = get_asgi_application()

# Without a broker, runs started by a request go to this process's background threads.
from sop import background  # noqa: E402 (needs the settings configured above)

background.enable()
