"""The committed web build (functions/web/static/, tests/browser/static/uppy.js) is what
`make web` makes from web/: its recorded source hash matches the sources and the lock,
its pins are exact, and the pages name exactly the assets that are there."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
WEB = ROOT / "web"
STATIC = ROOT / "functions" / "web" / "static"
TESTBED = ROOT / "tests" / "browser" / "static" / "uppy.js"
INPUTS = ["package.json", "package-lock.json", ".npmrc", "build.mjs"]
BUILD = json.loads((STATIC / "build.json").read_text(encoding="utf-8"))


def sources_sha256(web: Path = WEB) -> str:
    """web/build.mjs's hash: sorted paths, each as path NUL bytes NUL."""
    names = INPUTS + [
        path.relative_to(web).as_posix() for path in (web / "src").rglob("*") if path.is_file()
    ]
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + (web / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_committed_build_is_of_the_current_sources_and_lock():
    # Given the hash of web/'s sources, package.json and lock as they are now
    current = sources_sha256()
    # Then the committed build recorded the same, in the manifest, the pages and the testbed
    stale = "the committed web build is stale: run `make web` and commit functions/web/static"
    assert BUILD["sources_sha256"] == current, stale
    for page in BUILD["pages"]:
        assert f'content="{current}"' in (STATIC / page).read_text(encoding="utf-8"), stale
    assert TESTBED.read_text(encoding="utf-8").startswith(f"/* stowage web build {current} */")


def test_the_hash_changes_with_any_source_or_the_lock(tmp_path):
    # Given a copy of web/ (the inputs and the page's script)
    copy = tmp_path / "web"
    for name in [*INPUTS, "src/app.js"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((WEB / name).read_bytes())
    before = sources_sha256(copy)
    for name in ("src/app.js", "package-lock.json"):
        # When one byte is added to a source, or to the lock
        (copy / name).write_bytes((copy / name).read_bytes() + b" ")
        # Then the hash differs
        assert sources_sha256(copy) != before, name
        before = sources_sha256(copy)


def test_the_pages_name_exactly_the_assets_that_were_built():
    # Given the assets directory and what the pages link to
    present = sorted(path.name for path in (STATIC / "assets").iterdir())
    linked = set()
    for page in BUILD["pages"]:
        linked |= set(re.findall(r'"/assets/([^"]+)"', (STATIC / page).read_text("utf-8")))
    # Then the manifest lists what is there, and every link is to one of them
    assert BUILD["assets"] == present
    assert linked <= set(present) and linked
    # And each name carries a content hash
    assert all(re.fullmatch(r"[a-z]+-[A-Z0-9]{8}\.(js|css)", name) for name in present)


def test_dependencies_are_pinned_exactly_and_the_lock_agrees():
    # Given package.json and its lock
    package = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    wanted = package["dependencies"] | package["devDependencies"]
    # Then every version is exact, and it is the one the lock installs
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert wanted["@uppy/aws-s3"].startswith("6.")
