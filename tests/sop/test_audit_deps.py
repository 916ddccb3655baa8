"""The dependency audit: a fixable vulnerability fails it, an unfixed one is listed, an
unreachable database fails only with --check."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sop.management.commands import audit_deps

REPORT = {
    "dependencies": [
        {
            "name": "django",
            "version": "5.2.1",
            "vulns": [
                {"id": "PYSEC-1", "aliases": ["CVE-2025-1"], "fix_versions": ["5.2.2"]},
            ],
        },
        {
            "name": "plotly",
            "version": "7.1.0",
            "vulns": [
                {"id": "GHSA-x", "aliases": [], "fix_versions": []},
            ],
        },
        {"name": "pandas", "version": "3.1.1", "vulns": []},
        {"name": "local-thing", "skip_reason": "not on PyPI"},
    ],
    "fixes": [],
}


def _pip_audit(monkeypatch, *, stdout="", stderr="", code=0):
    def run(*args, **kwargs):
        return subprocess.CompletedProcess(args, code, stdout=stdout, stderr=stderr)

    monkeypatch.setattr(audit_deps.subprocess, "run", run)


def test_findings_split_fixable_from_unfixed():
    fixable, unfixed = audit_deps.findings(REPORT)
    assert fixable == ["django 5.2.1: PYSEC-1, CVE-2025-1 (fixed in 5.2.2)"]
    assert unfixed == ["plotly 7.1.0: GHSA-x (no fixed release yet)"]


def test_a_vulnerability_with_a_fix_fails_the_audit(monkeypatch):
    _pip_audit(monkeypatch, stdout=json.dumps(REPORT), code=1)
    with pytest.raises(CommandError, match=r"django 5\.2\.1: PYSEC-1.*fixed in 5\.2\.2"):
        call_command("audit_deps", stdout=io.StringIO())


def test_only_unfixed_vulnerabilities_pass_with_a_warning(monkeypatch):
    report = {"dependencies": REPORT["dependencies"][1:]}
    _pip_audit(monkeypatch, stdout=json.dumps(report), code=1)
    out = io.StringIO()
    call_command("audit_deps", stdout=out)
    assert "warning: plotly 7.1.0: GHSA-x" in out.getvalue()
    assert "2 packages audited against osv" in out.getvalue()


def test_an_unreachable_database_fails_only_with_check(monkeypatch):
    _pip_audit(
        monkeypatch, stderr="requests.exceptions.ConnectionError: Max retries exceeded", code=1
    )
    out = io.StringIO()
    call_command("audit_deps", stdout=out)
    assert "could not be reached. Not audited" in out.getvalue()
    with pytest.raises(CommandError, match=r"could not be reached\. Nothing was audited"):
        call_command("audit_deps", "--check", stdout=io.StringIO())
