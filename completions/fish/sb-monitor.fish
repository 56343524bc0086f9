# fish completion for sb-monitor
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-monitor

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-monitor.  Operands are NDJSON files: fish completes files.
# The ids of --deployment come from __sb_deployments, in sb-common.fish.
complete -c $cmd -l threshold -x -d 'A metric degrades when its mean is PCT percent worse (default 10)'
complete -c $cmd -l alpha -x -d 'Significance level of the tests, 0 < P < 1 (default 0.05)'
complete -c $cmd -l test -x -a 'mann-whitney\t"One-sided Mann-Whitney U test (default)" none\t"The thresholds alone decide"' -d 'Test of the shift in location'
complete -c $cmd -l min-samples -x -d 'Values needed on each side to judge a metric (default 10)'
complete -c $cmd -l max-spread-ratio -x -d 'A metric degrades when its IQR grows more than R times (default 2)'
complete -c $cmd -l on-degrade -x -a 'rollback\t"Recommend a rollback (default)" hold\t"Hold for a person to decide"' -d 'What a degradation decides'
complete -c $cmd -l deployment -x -a '(__sb_deployments)' -d 'Judge only deployment ID'
complete -c $cmd -s n -l dry-run -d 'Write nothing to the deployment journal or the audit log'
