"""`python -m stowage_cli admin …` (the `stowage` command arrives with the CLI)."""

import sys

from stowage_cli import admin

if __name__ == "__main__":
    if sys.argv[1:2] != ["admin"]:
        sys.exit("usage: python -m stowage_cli admin COMMAND … (see admin --help)")
    admin.main(sys.argv[2:])
