# fish completion for sb-cycle
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-cycle

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-cycle.  Operands are NDJSON files (telemetry, or with
# --emergency the alarm events): fish completes files.
complete -c $cmd -l window -x -d 'Analyse the telemetry of the last HOURS hours (default 1; 0: all of it)'
complete -c $cmd -l max -x -d 'Work on at most N opportunities (default 3)'
complete -c $cmd -s j -l jobs -x -d 'Generate and validate for N opportunities at once (default 1)'
complete -c $cmd -l source -x -d 'An sb-stream source, its arguments split at spaces (repeatable)'
complete -c $cmd -l component -x -a '(__sb_components)' -d 'Improve only this component'
complete -c $cmd -l emergency -d 'Read alarm events; start a cycle for a component as soon as its alarm fires'
complete -c $cmd -s y -l yes -d 'Let sb-deploy deploy even when features.autonomous_improvements is off'
complete -c $cmd -s n -l dry-run -d 'Run every stage, but sb-deploy only reports what it would do'
