"""The fuzzing budget and configuration, shared by the tests and the summary hook.

The budget is bounded and seeded: `make test` runs a few hundred requests;
`make fuzz` sets STOWAGE_FUZZ_EXAMPLES and STOWAGE_FUZZ_SCENARIOS for thousands.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from schemathesis.config import SchemathesisConfig

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"

SEED = int(os.environ.get("STOWAGE_FUZZ_SEED", "20261123"))
EXAMPLES = int(os.environ.get("STOWAGE_FUZZ_EXAMPLES", "6"))
"""Generated requests per operation and phase (stateless)."""
SCENARIOS = int(os.environ.get("STOWAGE_FUZZ_SCENARIOS", "25"))
"""Stateful scenarios (sequences that follow the document's links)."""
STEPS = int(os.environ.get("STOWAGE_FUZZ_STEPS", "8"))
"""The longest sequence of a scenario."""

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "max-redirects": 0,  # a 302 to S3 is the answer under test, not followed
        "request-timeout": 60,
        "generation": {
            "max-examples": EXAMPLES,
            "mode": "all",  # valid and invalid input
            "database": "none",
            # The API ignores query parameters it does not know (the document says so).
            "allow-extra-parameters": False,
            # The dev key goes with every request; ignored_auth checks without it.
            "with-security-parameters": False,
        },
        "suppress-health-check": ["all"],
        "phases": {
            "examples": {"enabled": False},
            # A method no route has is API Gateway's 404: nothing of ours to test.
            "coverage": {"unexpected-methods": []},
            # Sequences go deep with valid input; the stateless test covers invalid input.
            # Only the document's links: inferred ones drown init -> parts -> complete.
            "stateful": {"generation": {"mode": "positive"}, "inference": {"algorithms": []}},
        },
    }
)

# What the API was sent, by kind, for the summary at the end of the session.
REQUESTS: Counter[str] = Counter()
