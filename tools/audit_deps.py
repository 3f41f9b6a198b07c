"""pip-audit over the locked dependencies: fail on a known vulnerability, and say plainly
when the audit could not happen instead of passing quietly.

pip-audit asks a vulnerability service about each locked version: PyPI's per-version JSON
pages (`/pypi/<name>/<version>/json`) by default, or OSV. Where neither answers (offline, or
a PyPI mirror that serves only the simple index) pip-audit reports every package as "not
found" and still prints "No known vulnerabilities found". So this first asks each service
about one known version, audits with the first that answers, and otherwise prints that
nothing was audited and why. `STRICT_AUDIT=1` makes an audit that could not run fail.

Audited: uv.lock (the project, the layer's runtime and the dev group, exported with hashes)
and the tool locks of SAM and checkov, each on its own (they pin different versions).
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404  # runs uv and pip-audit from the project's own envs
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "uv" / "bin" / "uv"
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"
TOOL_LOCKS = [ROOT / "tools" / "sam.lock.txt", ROOT / "tools" / "checkov.lock.txt"]
TIMEOUT = 10
# One version known to exist, to tell "the service answers" from "it is not there".
PROBES = {
    "pypi": ("GET", "https://pypi.org/pypi/pip-audit/2.10.1/json", None),
    "osv": (
        "POST",
        "https://api.osv.dev/v1/query",
        {"package": {"name": "pip-audit", "ecosystem": "PyPI"}, "version": "2.10.1"},
    ),
}


@dataclass
class Report:
    """What one pip-audit run found: vulnerable packages and the ones it could not check."""

    audited: int = 0
    vulnerable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_report(document: dict[str, Any]) -> Report:
    """pip-audit's `--format json` answer, reduced to what the gate decides on."""
    report = Report()
    for dependency in document.get("dependencies", []):
        version = dependency.get("version")
        name = f"{dependency.get('name')}=={version}" if version else str(dependency.get("name"))
        if "skip_reason" in dependency:
            report.skipped.append(f"{name}: {dependency['skip_reason']}")
            continue
        report.audited += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            report.vulnerable.append(f"{name}: {vuln.get('id')} (fixed in {fixed})")
    return report


def answers(service: str) -> str | None:
    """None if the service answers about a known version; else why it does not."""
    method, url, body = PROBES[service]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # nosec B310  # https
            response.read()
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return f"{url} is unreachable ({getattr(error, 'reason', error)})"
    return None


def choose_service(probe: Callable[[str], str | None] = answers) -> tuple[str | None, list[str]]:
    """The first vulnerability service that answers, and why the others did not."""
    reasons: list[str] = []
    for service in PROBES:
        reason = probe(service)
        if reason is None:
            return service, reasons
        reasons.append(f"{service}: {reason}")
    return None, reasons


def requirement_files(folder: Path) -> list[Path]:
    """uv.lock exported (hashes kept, the local client left out), then the tool locks."""
    exported = folder / "uv-lock.txt"
    subprocess.run(  # nosec B603  # fixed arguments, our own uv
        [str(UV), "export", "--frozen", "--no-emit-project", "--no-emit-local", "--quiet"]
        + ["--format", "requirements.txt", "--output-file", str(exported)],
        cwd=ROOT,
        check=True,
    )
    return [exported, *(lock for lock in TOOL_LOCKS if lock.exists())]


def audit(requirements: Path, service: str) -> Report:
    """pip-audit on one hashed requirements file, without installing anything."""
    command = [str(PIP_AUDIT), "--requirement", str(requirements), "--disable-pip"]
    command += ["--require-hashes", "--vulnerability-service", service, "--format", "json"]
    command += ["--progress-spinner", "off", "--timeout", str(TIMEOUT)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603
    if run.returncode not in (0, 1) or not run.stdout.strip():
        raise RuntimeError(f"pip-audit failed on {requirements.name}: {run.stderr.strip()}")
    return parse_report(json.loads(run.stdout))


def verdict(reports: dict[str, Report], strict: bool) -> tuple[int, list[str]]:
    """Exit code and lines to print: vulnerabilities fail; unchecked packages fail if strict."""
    lines, code = [], 0
    for name, report in reports.items():
        lines.append(
            f"pip-audit {name}: {report.audited} audited, {len(report.vulnerable)} vulnerable, "
            f"{len(report.skipped)} not audited"
        )
        lines += [f"  VULNERABLE {item}" for item in report.vulnerable]
        lines += [f"  not audited: {item}" for item in report.skipped[:5]]
        if len(report.skipped) > 5:
            lines.append(f"  … and {len(report.skipped) - 5} more not audited")
        if report.vulnerable or (strict and report.skipped):
            code = 1
    return code, lines


def main() -> int:
    strict = os.environ.get("STRICT_AUDIT") == "1"
    service, reasons = choose_service()
    if service is None:
        print("pip-audit: NOT AUDITED, no vulnerability service answers here:")
        print("\n".join(f"  {reason}" for reason in reasons))
        print("  (run `make scan` where PyPI's JSON API or OSV is reachable; STRICT_AUDIT=1 fails)")
        return 1 if strict else 0
    with tempfile.TemporaryDirectory() as folder:
        reports = {path.name: audit(path, service) for path in requirement_files(Path(folder))}
    code, lines = verdict(reports, strict)
    print(f"pip-audit via {service}:")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
