# fish completion for sb-status
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-status

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-status.  It takes no operands: it reads the state
# directory.
complete -c $cmd -f
complete -c $cmd -l format -x -a 'json\t"NDJSON records" table\t"Text for people"' -d 'Output format: json or table (default: table on a terminal, else json)'
complete -c $cmd -l component -x -a '(__sb_components)' -d 'Only the component NAME (repeatable)'
complete -c $cmd -l cycles -x -d 'Show the last N cycles (default 10)'
