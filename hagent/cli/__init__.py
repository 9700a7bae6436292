"""The `hagent` command line: collect, train, eval, run, chat, scenarios, show.

Every command takes `--config FILE` (TOML) and `--set a.b=value` overrides; a bad config prints
one `location: message` line per problem and exits 2. `parser` builds the commands from
`data` (collect, train) and `acting` (eval, run, scenarios, chat, show); `common` holds what
they share.
"""

from hagent.cli.common import EXIT_USAGE, PENDING, CliError
from hagent.cli.parser import build_parser, main

__all__ = ["EXIT_USAGE", "PENDING", "CliError", "build_parser", "main"]
