"""`python -m tempest` is the `tempest` command."""

from tempest.cli import main

if __name__ == "__main__":
    main()
