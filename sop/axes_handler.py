"""django-axes' database handler with a limit of its own for a client address.

Axes compares one failure count with one limit; its count is the largest over the lockout
parameters (here the account, and the client address). An office behind one address
would share an account's limit across everyone's typos, so the address count is scaled
to the account limit: an address is locked after SOP_LOGIN_ADDRESS_FAILURE_LIMIT failures
over all accounts, an account after SOP_LOGIN_FAILURE_LIMIT from any address.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum


class AccountAndAddressHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        by_account, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        # Scaled in whole numbers: it reaches the account limit exactly when the address
        # count reaches the address limit.
        account_limit = settings.AXES_FAILURE_LIMIT
        scaled = by_address * account_limit // settings.SOP_LOGIN_ADDRESS_FAILURE_LIMIT
        return max(by_account, scaled)
