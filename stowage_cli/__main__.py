"""`python -m stowage_cli admin …` or `python -m stowage_cli openapi [--check]`
(the `stowage` command arrives with the CLI)."""

import sys

from stowage_cli import admin, openapi

if __name__ == "__main__":
    command, rest = sys.argv[1:2], sys.argv[2:]
    if command == ["admin"]:
        admin.main(rest)
    elif command == ["openapi"]:
        sys.exit(openapi.main(rest))
    else:
        sys.exit("usage: python -m stowage_cli admin COMMAND … | openapi [--check]")
