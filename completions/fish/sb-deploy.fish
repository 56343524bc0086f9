# fish completion for sb-deploy
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-deploy

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-deploy.  Operands are NDJSON files: fish completes files.
complete -c $cmd -s y -l yes -d 'Deploy even when features.autonomous_improvements is off'
complete -c $cmd -s n -l dry-run -d 'Report what would be deployed; change nothing'
complete -c $cmd -l approve -x -d 'Approve a change that requires approval; stdin is then not read'
complete -c $cmd -l approver -x -d 'Who approves (default $SB_ACTOR, else the user name)'
complete -c $cmd -l monitor -x -d 'Monitoring period after a deployment (default 1h)'
complete -c $cmd -l compression -x -a 'gzip\t"Pre-image archives as .tar.gz (default)" zstd\t"Pre-image archives as .tar.zst"' -d 'Compression of pre-image archives (default gzip)'
complete -c $cmd -l command-timeout -x -d 'Time allowed to reload and each health check (default 60s)'
complete -c $cmd -l health-retries -x -d 'Attempts of the health command before it counts as failed (default 3)'
complete -c $cmd -l health-interval -x -d 'Pause between health attempts (default 2s)'
complete -c $cmd -l lock-timeout -x -d 'Wait this long for another run to release a component (default 5m)'
complete -c $cmd -l notify-timeout -x -d 'Time allowed to each notification (default 10s)'
