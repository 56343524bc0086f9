# fish completion for sb-rollback
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-rollback

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-rollback.  Operands are deployment ids, offered from the
# journal by __sb_deployments (in sb-common.fish), or NDJSON files of
# verdict and deployment records, which fish completes.
complete -c $cmd -a '(__sb_deployments)' -d 'Deployment'
complete -c $cmd -l cascade -d 'Roll back later deployments that touched the same files first, newest first'
complete -c $cmd -s n -l dry-run -d 'Report what would be rolled back; change nothing'
complete -c $cmd -l reason -x -d 'Why, for the journal and the audit log'
complete -c $cmd -l command-timeout -x -d 'Time allowed to reload and each health check (default 60s)'
complete -c $cmd -l health-retries -x -d 'Attempts of the health command before it counts as failed (default 3)'
complete -c $cmd -l health-interval -x -d 'Pause between health attempts (default 2s)'
complete -c $cmd -l lock-timeout -x -d 'Wait this long for another run to release a component (default 5m)'
complete -c $cmd -l notify-timeout -x -d 'Time allowed to each notification (default 10s)'
