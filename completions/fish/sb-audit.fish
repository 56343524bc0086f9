# fish completion for sb-audit
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-audit

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# The first operand is the command, verify or list; the second, the audit
# log to read (audit.ndjson in the state directory by default), a file.
function __sb_audit_no_command --description 'True when sb-audit has no command yet'
    test (count (__sb_operands --since --until --action --format)) -eq 0
end

complete -c $cmd -n __sb_audit_no_command -f -a 'verify\t"Walk the hash chain; exit 1 naming the first line that breaks it" list\t"Write the entries that the options select"'
complete -c $cmd -n 'not __sb_audit_no_command' -F
complete -c $cmd -l since -x -d 'List: entries at or after T (RFC 3339, epoch, or a duration ago)'
complete -c $cmd -l until -x -d 'List: entries before T'
complete -c $cmd -l action -x -a 'deploy.approve deploy.deployed deploy.rolled_back deploy.failed deploy.skipped deploy.deferred deploy.awaiting_approval deploy.recover deploy.\* monitor.keep monitor.hold monitor.\* rollback rollback.refused validate.waiver' -d 'List: entries of action A, or of a glob (repeatable)'
complete -c $cmd -l format -x -a 'ndjson\t"The entries as they are (default)" table\t"Text for people"' -d 'Output format: ndjson (default), or table: text for people'
