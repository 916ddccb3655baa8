"""The quick start: migrate, load the demo company once, and serve the app locally."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from sop.management.commands.seed_demo import demo_logins
from sop.models import Product


class Command(BaseCommand):
    help = "Set up the database, load the demo company if it is empty, and run the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--fresh", action="store_true", help="delete all data first and seed again"
        )

    def handle(self, *args, port: int, fresh: bool, **options) -> None:
        database = settings.DATABASES["default"]
        sqlite = database["ENGINE"] == "django.db.backends.sqlite3"
        if sqlite:
            path = Path(database["NAME"])
            path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                connections.close_all()
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

        self.stdout.write("Migrating the database ...")
        call_command("migrate", interactive=False, verbosity=0)
        if fresh and not sqlite:
            # Flushing re-runs the post-migrate hooks, so the role groups come back.
            call_command("flush", interactive=False, verbosity=0)
        # Without DEBUG, whitenoise serves the hashed files collectstatic builds.
        call_command("collectstatic", interactive=False, verbosity=0)

        if fresh or not Product.objects.exists():
            self.stdout.write("Loading the demo company ...")
            call_command("seed_demo", stdout=self.stdout)
        else:
            self.stdout.write("Products exist already: not seeding (--fresh starts again).")

        url = f"http://127.0.0.1:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nS&OP is running at {url}"))
        self.stdout.write(demo_logins() + "\nStop it with Ctrl+C.\n")
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
