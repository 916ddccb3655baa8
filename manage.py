#!/usr/bin/env python3
"""Django's command-line utility.

On a machine with nothing but Python it first builds `.venv` from pyproject.toml and
re-runs itself inside it, so `python3 manage.py demo` and `python3 manage.py test` are the
whole set-up. Inside any other virtualenv (a deployment image), or with SOP_NO_BOOTSTRAP=1,
it uses the current interpreter as is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _bootstrap() -> None:
    if os.environ.get("SOP_NO_BOOTSTRAP") == "1" or sys.prefix != sys.base_prefix:
        return
    python = _venv_python()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".installed"
    if not python.exists():
        print("Creating .venv (first run only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        print("Installing dependencies into .venv ...", flush=True)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
        stamp.write_text(wanted)
    os.execv(str(python), [str(python), str(ROOT / "manage.py"), *sys.argv[1:]])


def main() -> None:
    _bootstrap()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
