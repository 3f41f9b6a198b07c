"""The pip-audit gate (tools/audit_deps.py): a vulnerability fails, an audit that could not
run says so, and fails only when STRICT_AUDIT asks it to."""

from __future__ import annotations

from tools.audit_deps import choose_service, parse_report, verdict

PIP_AUDIT_JSON = {
    "dependencies": [
        {
            "name": "requests",
            "version": "2.0.0",
            "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.1"]}],
        },
        {"name": "six", "version": "1.17.0", "vulns": []},
        {"name": "attrs", "skip_reason": "Dependency not found on PyPI: attrs (26.1.0)"},
    ]
}


def test_a_vulnerable_dependency_fails_the_gate():
    # Given pip-audit's answer with one vulnerable, one clean and one unchecked package
    report = parse_report(PIP_AUDIT_JSON)
    # When
    code, lines = verdict({"uv-lock.txt": report}, strict=False)
    # Then
    assert (report.audited, len(report.skipped)) == (2, 1)
    assert code == 1
    assert any("VULNERABLE requests==2.0.0: PYSEC-1 (fixed in 2.1)" in line for line in lines)
    assert any("not audited: attrs" in line for line in lines)


def test_unchecked_packages_pass_unless_strict():
    # Given an answer where nothing is vulnerable but one package could not be checked
    report = parse_report({"dependencies": PIP_AUDIT_JSON["dependencies"][1:]})
    # Then it is said, and it fails only in strict mode
    assert verdict({"x": report}, strict=False)[0] == 0
    assert verdict({"x": report}, strict=True)[0] == 1


def test_the_first_service_that_answers_is_used():
    # Given PyPI's per-version pages missing and OSV answering
    reasons = {"pypi": "answered 404", "osv": None}
    # When / Then
    assert choose_service(reasons.get) == ("osv", ["pypi: answered 404"])
    assert choose_service(lambda _service: "unreachable") == (
        None,
        ["pypi: unreachable", "osv: unreachable"],
    )
