# fish completion for sb-score
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-score

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-score.  Operands are NDJSON files: fish completes files.
complete -c $cmd -l pass -d 'Also forward the insight records read'
complete -c $cmd -l risk -x -a 'low medium high' -d 'Drop opportunities riskier than LEVEL'
complete -c $cmd -l max -x -d 'Keep only the N opportunities of highest impact'
complete -c $cmd -l users-default -x -d 'Affected users of an insight that names none'
