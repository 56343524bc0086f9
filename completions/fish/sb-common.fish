# fish completion: the options common to every sb tool, and helpers
# some tools share
#
# Not the completion of a command: the file of each tool (sb-score.fish,
# ...) sources this one, from its own directory, and calls
#
#     __sb_complete_common TOOL
#
# to register the common options for TOOL, then adds the tool's own.  It
# also defines __sb_deployments, the deployment ids that sb-monitor's
# --deployment and sb-rollback's operands complete.  Sourcing this file
# again does nothing.

functions -q __sb_complete_common; and return

# MODE of --on-error: warn, fail or quarantine=FILE.
function __sb_on_error_modes --description 'Complete the MODE of --on-error'
    set -l value (commandline -ct | string replace -r -- '^--on-error=' '')
    if string match -q -- 'quarantine=*' "$value"
        set -l path (string replace -- 'quarantine=' '' "$value")
        for f in (complete -C"'' $path")
            echo "quarantine=$f"
        end
        return
    end
    printf '%s\t%s\n' \
        warn 'Warn about malformed lines and skip them (default)' \
        fail 'Stop at the first malformed line' \
        quarantine= 'Append malformed lines to FILE and go on'
end

# __sb_complete_common CMD: register the common options for command CMD.
function __sb_complete_common --argument-names cmd --description 'Complete the options common to every sb tool for CMD'
    complete -c $cmd -s h -l help -d 'Show this help and exit'
    complete -c $cmd -s V -l version -d 'Show the version and exit'
    complete -c $cmd -s c -l config -r -d 'Read the configuration from FILE'
    complete -c $cmd -s S -l state-dir -x -a '(__fish_complete_directories)' -d 'Keep state in DIR'
    complete -c $cmd -s t -l tenant -x -d 'Read and write only records of tenant ID'
    complete -c $cmd -s w -l where -x -d 'Keep only input records for which JQ is true'
    complete -c $cmd -l on-error -x -a '(__sb_on_error_modes)' -d 'What to do with malformed lines'
    complete -c $cmd -s u -l unbuffered -d 'Flush output after every record'
    complete -c $cmd -s q -l quiet -d 'No progress line and no per-line warnings'
    complete -c $cmd -s v -l verbose -d 'Report counts and decisions on stderr'
end

# __sb_deployments: print the ids of the deployments whose latest status
# in the deployment journal is deployed (kept and held ones included), in
# the journal's order.  The journal is in the state directory of -S DIR,
# -SDIR, --state-dir DIR or --state-dir=DIR on the command line (the last
# one given), else $SB_STATE_DIR, else $XDG_STATE_HOME/sb, else
# ~/.local/state/sb; a state_dir set only in the configuration file is not
# looked up.  Prints nothing when the journal cannot be read.  Used by
# sb-monitor.fish (--deployment) and sb-rollback.fish (operands).
function __sb_deployments --description 'Print the ids of the deployments still deployed'
    set -l tokens (commandline -opc)
    set -l dir
    set -l next 0
    for t in $tokens
        if test $next = 1
            set dir $t
            set next 0
        else if contains -- $t -S --state-dir
            set next 1
        else if string match -q -- '--state-dir=?*' $t
            set dir (string replace -- '--state-dir=' '' $t)
        else if string match -qr -- '^-S.' $t
            set dir (string sub -s 3 -- $t)
        end
    end
    if test -z "$dir"
        if set -q SB_STATE_DIR; and test -n "$SB_STATE_DIR"
            set dir $SB_STATE_DIR
        else if set -q XDG_STATE_HOME; and test -n "$XDG_STATE_HOME"
            set dir $XDG_STATE_HOME/sb
        else
            set dir $HOME/.local/state/sb
        end
    end
    set -l journal (string replace -r -- '^~' $HOME $dir)/deployments.ndjson
    test -r $journal; or return
    awk '
        match($0, /"deployment":"[^"]*"/) {
            id = substr($0, RSTART + 14, RLENGTH - 15)
            if (!(id in seen)) { seen[id]; order[n++] = id }
            if (match($0, /[{,]"status":"[^"]*"/))
                status[id] = substr($0, RSTART + 11, RLENGTH - 12)
        }
        END { for (i = 0; i < n; i++) if (status[order[i]] == "deployed") print order[i] }
    ' $journal 2>/dev/null
end
