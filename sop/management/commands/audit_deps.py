"""Audit the installed dependencies for known vulnerabilities (pip-audit).

Every package of the environment the app runs in (the pins of pyproject.toml and what they
pulled in) is looked up in a vulnerability database, OSV by default (`--service pypi` for
PyPI's). A vulnerability that has a fixed release fails the audit: update the pin. One
without a fix is listed and does not fail it (there is nothing to update to yet). The
databases give no reliable severity, so every fixable finding fails, not only the high
ones: a stricter rule than "high severity".

A database that cannot be reached (a machine without internet) is reported and, unless
`--check` is given, does not fail the audit: CI runs `--check` where the database is
reachable, and the plain command everywhere else.
"""

from __future__ import annotations

import json
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


def findings(report: dict) -> tuple[list[str], list[str]]:
    """(fixable, unfixed): one line per vulnerability of pip-audit's JSON report."""
    fixable, unfixed = [], []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            ids = ", ".join([vuln["id"], *vuln.get("aliases", [])])
            line = f"{dep['name']} {dep['version']}: {ids}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                unfixed.append(f"{line} (no fixed release yet)")
    return fixable, unfixed


class Command(BaseCommand):
    help = "Audit the installed dependencies for known vulnerabilities."

    def add_arguments(self, parser):
        parser.add_argument("--service", choices=["osv", "pypi"], default="osv")
        parser.add_argument(
            "--check",
            action="store_true",
            help="fail when the vulnerability database cannot be reached",
        )

    def handle(self, *args, service: str, check: bool, **options):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--local",
                "--format",
                "json",
                "--progress-spinner",
                "off",
                "--vulnerability-service",
                service,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError:
            if any(marker in run.stderr for marker in UNREACHABLE):
                message = f"The vulnerability database ({service}) could not be reached."
                if check:
                    raise CommandError(f"{message} Nothing was audited.") from None
                self.stdout.write(f"{message} Not audited (use --check to fail on this).")
                return
            raise CommandError(f"pip-audit failed:\n{run.stderr[-2000:]}") from None
        fixable, unfixed = findings(report)
        audited = [d for d in report.get("dependencies", []) if "skip_reason" not in d]
        for line in unfixed:
            self.stdout.write(f"warning: {line}")
        if fixable:
            raise CommandError(
                "Known vulnerabilities with a fixed release:\n  " + "\n  ".join(fixable)
            )
        self.stdout.write(
            f"{len(audited)} packages audited against {service}: no vulnerability with a fix."
        )
