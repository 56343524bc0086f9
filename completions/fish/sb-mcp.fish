# fish completion for sb-mcp
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-mcp

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-mcp.  It takes no operands: an MCP host writes its
# messages to standard input.
complete -c $cmd -f
complete -c $cmd -l status-ttl -x -d 'Reuse get_system_status for this long (default 10s; 0: never)'
complete -c $cmd -l call-timeout -x -d 'End a tool call that runs longer (default 30m)'
