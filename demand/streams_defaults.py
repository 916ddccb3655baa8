"""The input streams every demand review has: sales and marketing, each entered by its role.

An admin adds more in the Django admin; these two are made again if missing after a
migrate (`demand.apps`), so no database is without them.
"""

from __future__ import annotations

from sop.choices import Role

DEFAULT_STREAMS = (("sales", "Sales", Role.SALES), ("marketing", "Marketing", Role.MARKETING))


def streams_ensure(**kwargs) -> None:
    """Create the default streams that do not exist (an admin's edits of them are kept)."""
    from demand.models import InputStream

    for code, name, role in DEFAULT_STREAMS:
        InputStream.objects.get_or_create(code=code, defaults={"name": name, "role": str(role)})
