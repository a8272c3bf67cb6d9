"""dibs: inventory allocation and automation rules."""

#: The version `dibs --version` prints; pyproject.toml takes the package's version from here, so
#: it is bumped in one place, and `--version` needs no look-up in the installed metadata.
__version__ = "0.1.0"
