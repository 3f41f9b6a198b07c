"""`python -m stowage_client …`, the same as the `stowage` command."""

from stowage_client.cli import main

if __name__ == "__main__":
    main()
