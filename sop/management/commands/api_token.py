"""Create, list or revoke REST API tokens from the command line (a server administrator's way).

The same services as the API tokens page: the token's text is printed once, only its hash
is stored, and each creation and revocation is audited (as the system: no signed-in user).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sop import selectors, services
from sop.choices import TokenScope
from sop.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke REST API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="print a new token of USER (shown once)")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        listing = actions.add_parser("list", help="the tokens, with their prefix and status")
        listing.add_argument("username", nargs="?", help="only this user's tokens")
        revoke = actions.add_parser("revoke", help="revoke the token with this prefix")
        revoke.add_argument("prefix", help="the 12 hex digits after sop_")

    def handle(self, *args, action: str, **options):
        if action == "create":
            owner = self._user(options["username"])
            try:
                _, text = services.api_token_create(
                    owner=owner, name=options["name"], scope=options["scope"], user=None
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(text)
        elif action == "list":
            owner = self._user(options["username"]) if options["username"] else None
            for token in selectors.api_tokens(user=owner):
                status = "active" if token.is_active else f"revoked {token.revoked_at:%Y-%m-%d}"
                self.stdout.write(
                    f"sop_{token.prefix}_…  {token.user}  {token.scope}  {status}  {token.name}"
                )
        else:
            token = ApiToken.objects.select_related("user").filter(prefix=options["prefix"]).first()
            if token is None:
                raise CommandError(f"No token with prefix {options['prefix']!r}.")
            revoked = services.api_token_revoke(token=token, user=None)
            self.stdout.write(f"Revoked {token}." if revoked else f"{token} was already revoked.")

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
