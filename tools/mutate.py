"""`make mutate`: mutation testing of the core with mutmut 3, one module group at a time.

mutmut names a mutant after its file's path, and the layer's code is imported as
`stowage.…` from `layers/common/python`: so each group runs in a staging copy of the
repository (`.mutate/<group>/`) where the layer sits at the top as `stowage/`. Each group
mutates only its own files (and, for big modules, only the functions named), collects
which of its tests reach which function, and runs, per mutant, only those tests.

    python tools/mutate.py [GROUP ...]      # every group when none is named

Prints a table of the scores and exits non-zero when a group is under its goal. The
survivors are written to `.mutate/survivors.txt` with their diffs; docs/mutation.md says
why each one left is equivalent or accepted.
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import json
import os
import shutil
import subprocess  # nosec B404  # runs mutmut from the project's own venv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "common" / "python" / "stowage"
STAGE = ROOT / ".mutate"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
COPIED = ("tests", "functions", "devstack", "events", "docs", "template.yaml")
KILLED = {1, 3, 36, 37, 24, -24, 152, 255}
"""mutmut's exit codes of a mutant that the tests caught (failed, errored, timed out)."""
SURVIVED = {0, 5, 33}
"""Survived, or no test reached it."""


@dataclass(frozen=True)
class Group:
    name: str
    files: tuple[str, ...]
    """Paths under the layer's `stowage/`."""
    tests: tuple[str, ...]
    goal: float
    functions: tuple[str, ...] = ("*",)
    """Which functions of the files to mutate (fnmatch on mutmut's names: `x_fn`,
    `xǁClassǁmethod`)."""

    def patterns(self) -> list[str]:
        modules = [f"stowage.{f.removesuffix('.py').replace('/', '.')}" for f in self.files]
        return [f"{m}.{fn}__mutmut_*" for m in modules for fn in self.functions]


def method(cls: str, *names: str) -> tuple[str, ...]:
    return tuple(f"xǁ{cls}ǁ{name}" for name in names)


BULK_CLEANUP = (
    "tests/integration/test_cleanup.py::test_2500_expired_drafts_cost_three_delete_objects_calls"
)
"""11 s a run, and what it proves (three DeleteObjects calls) the unit tests prove too."""
GROUPS = [
    Group(
        "identity",
        ("domain/identity.py",),
        (
            "tests/unit/test_identity_roles.py",
            "tests/unit/test_keys_identity.py",
            "tests/security/test_security_key_prefix.py",
        ),
        0.90,
    ),
    Group(
        "keys",
        ("domain/keys.py",),
        (
            "tests/unit/test_keys.py",
            "tests/unit/test_keys_properties.py",
            "tests/unit/test_keys_identity.py",
            "tests/unit/test_key_edges.py",
        ),
        0.90,
    ),
    Group(
        "clients",
        ("domain/clients.py",),
        (
            "tests/unit/test_clients.py",
            "tests/unit/test_authorizer_failures.py",
            "tests/unit/test_clients_admin_edges.py",
        ),
        0.90,
    ),
    Group(
        "naming",
        ("domain/naming.py",),
        ("tests/unit/test_naming.py", "tests/unit/test_uploads_domain.py"),
        0.80,
    ),
    Group(
        "catalog",
        ("domain/catalog.py",),
        (
            "tests/unit/test_catalog.py",
            "tests/unit/test_complete_recording.py",
            "tests/integration/test_catalog_adapters.py",
        ),
        0.80,
    ),
    Group(
        "uploads",
        ("domain/uploads.py",),
        (
            "tests/unit/test_uploads_domain.py",
            "tests/unit/test_complete_recording.py",
            "tests/integration/test_upload_handlers.py",
        ),
        0.80,
        method(
            "UploadService",
            "complete_upload",
            "_try_complete",
            "_finish",
            "_release",
            "_recover_completed",
            "cancel_upload",
            "_cancelled",
            "_owned",
            "_active",
            "_raise_for_state",
        ),
    ),
    Group(
        "drafts",
        ("domain/drafts.py",),
        ("tests/integration/test_draft_handlers.py",),
        0.80,
        method(
            "DraftService",
            "confirm",
            "_try_confirm",
            "_uploaded",
            "_store",
            "_release",
            "_delete_draft_object",
            "discard",
            "_discarded",
            "_owned",
        )
        + ("x__raise_for_state", "x__raise_for_discard"),
    ),
    Group(
        "cleanup",
        ("domain/cleanup.py",),
        (
            "tests/unit/test_cleanup_domain.py",
            "tests/integration/test_cleanup.py",
            f"--deselect={BULK_CLEANUP}",
        ),
        0.80,
    ),
    Group(
        "adapters",
        ("adapters/aws.py", "adapters/s3.py", "adapters/dynamodb.py", "adapters/clients.py"),
        (
            "tests/unit/test_adapter_errors.py",
            "tests/integration/test_cleanup.py",
            "tests/faults/test_fault_authorizer.py",
            "tests/faults/test_fault_followups.py",
        ),
        0.80,
        (
            "x_translated",
            "x_error_code",
            "x_conditional",
            "x__cause_code",
            *method("S3ObjectStore", "list_parts", "abort_multipart", "head", "delete_many"),
            *method("DynamoRecords", "_put_new", "_get", "_update", "_finish"),
            *method("DynamoClientStore", "find_by_key_hash", "note_used", "update"),
        ),
    ),
]


def stage(group: Group) -> Path:
    """A fresh copy of the repository with the layer on top, and mutmut's settings."""
    where = STAGE / group.name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache")
    shutil.copytree(LAYER, where / "stowage", ignore=ignore)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, where / name)
    tests = [t for t in group.tests if t.startswith("-") or (ROOT / t).exists()]
    settings = {
        "source_paths": ["stowage/"],
        "only_mutate": [f"stowage/{f}" for f in group.files],
        "also_copy": [n for n in COPIED if n != "tests"],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
    }
    lines = ["[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    lines += [
        "",
        "[tool.pytest.ini_options]",
        'pythonpath = ["."]',
        'addopts = "-ra --strict-markers"',
        'markers = ["e2e: over real HTTP against the local stack"]',
        'filterwarnings = ["ignore:No application metrics to publish:UserWarning"]',
    ]
    (where / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return where


def run(group: Group, children: int) -> dict[str, int]:
    """Mutate, test, and answer mutmut's exit code for each mutant of the group."""
    where = stage(group)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(where)
    command = [str(MUTMUT), "run", "--max-children", str(children), *group.patterns()]
    log = where / "mutmut.log"
    with log.open("w") as out:
        done = subprocess.run(  # nosec B603  # fixed arguments, our own mutmut
            command, cwd=where, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    codes: dict[str, int] = {}
    for meta in (where / "mutants" / "stowage").rglob("*.meta"):
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(key, p) for p in group.patterns()) and code is not None:
                codes[key] = code
    if done.returncode != 0 and not codes:
        sys.exit(f"mutmut failed for {group.name}: see {log}")
    return codes


def survivors(group: Group, codes: dict[str, int]) -> list[str]:
    """Each survivor with the lines its mutation changed (read from mutmut's mutated
    files: the original function is kept beside each mutant as `…__mutmut_orig`)."""
    sources: dict[str, dict[str, str]] = {}
    for path in (STAGE / group.name / "mutants" / "stowage").rglob("*.py"):
        module = "stowage." + ".".join(
            path.relative_to(STAGE / group.name / "mutants" / "stowage").with_suffix("").parts
        )
        text = path.read_text()
        sources[module] = {
            node.name: ast.get_source_segment(text, node) or ""
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name
        }
    shown = []
    for key in sorted(k for k, c in codes.items() if c in SURVIVED):
        module, _, name = key.rpartition(".")
        functions = sources.get(module, {})
        original = functions.get(name.rpartition("__mutmut_")[0] + "__mutmut_orig", "")
        mutant = functions.get(name, "")
        changed = [
            line
            for line in difflib.unified_diff(
                original.splitlines(), mutant.splitlines(), lineterm="", n=0
            )
            if line[:1] in "+-" and not line.startswith(("+++", "---")) and "__mutmut_" not in line
        ]
        shown.append(f"{key}\n" + "\n".join(f"    {line}" for line in changed))
    return shown


def main(names: list[str]) -> int:
    chosen = [g for g in GROUPS if not names or g.name in names]
    if names and len(chosen) != len(names):
        sys.exit(f"unknown group; the groups are: {', '.join(g.name for g in GROUPS)}")
    children = int(os.environ.get("MUTATE_CHILDREN", "2"))
    rows, lost, report = [], False, []
    for group in chosen:
        began = time.monotonic()
        codes = run(group, children)
        seconds = time.monotonic() - began
        killed = sum(1 for c in codes.values() if c in KILLED)
        survived = sum(1 for c in codes.values() if c in SURVIVED)
        other = len(codes) - killed - survived
        score = killed / len(codes) if codes else 0.0
        ok = score >= group.goal
        lost |= not ok
        rows.append(
            (group.name, len(codes), killed, survived, other, score, group.goal, ok, seconds)
        )
        report += [f"## {group.name}", *survivors(group, codes), ""]
        print(f"{group.name}: {killed}/{len(codes)} killed in {seconds:.0f} s", flush=True)
    (STAGE / "survivors.txt").write_text("\n".join(report))
    print()
    print(
        f"{'group':<10} {'mutants':>7} {'killed':>6} {'survived':>8} {'other':>5}"
        f" {'score':>6} {'goal':>5}  {'time':>6}"
    )
    for name, total, killed, survived, other, score, goal, ok, seconds in rows:
        print(
            f"{name:<10} {total:>7} {killed:>6} {survived:>8} {other:>5} {score:>6.1%}"
            f" {goal:>5.0%}  {seconds:>5.0f}s {'' if ok else ' UNDER GOAL'}"
        )
    print(f"\nsurvivors and their diffs: {STAGE / 'survivors.txt'} (see docs/mutation.md)")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
