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
# --deployment and sb-rollback's operands complete, and __sb_components,
# the component names that sb-cycle's and sb-status's --component
# complete; and for those and the tools' files, __sb_option_value, the
# value of an option on the command line, and __sb_operands, its operands.
# Sourcing this file again does nothing.

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

# __sb_option_value SHORT LONG: print the value of the option SHORT or
# LONG (-S --state-dir, say) on the command line before the cursor: of
# -SVALUE, -S VALUE, --state-dir VALUE or --state-dir=VALUE, the last one
# given.  Prints nothing when the option is not there.
function __sb_option_value --argument-names short long --description 'Print the value of an option on the command line'
    set -l value
    set -l next 0
    for t in (commandline -opc)
        if test $next = 1
            set value $t
            set next 0
        else if contains -- $t $short $long
            set next 1
        else if string match -q -- "$long=?*" $t
            set value (string replace -- "$long=" '' $t)
        else if string match -qr -- "^$short." $t
            set value (string sub -s 3 -- $t)
        end
    end
    printf '%s\n' $value
end

# __sb_operands [OPTION...]: print the operands on the command line before
# the cursor, one a line: the words after the command that are neither
# options nor the values of options that take one, and every word after
# --.  The options that take a value are the common ones, below, and the
# tool's own OPTIONs.  Short options may be grouped (-qc FILE): the one
# that takes a value ends the group.
function __sb_operands --description 'Print the operands of the command line'
    set -l valued -c --config -S --state-dir -t --tenant -w --where --on-error $argv
    # The letters of the short ones, for a bracket expression: cStw.
    set -l letters (string replace -rf -- '^-([^-])$' '$1' $valued | string join '')
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    set -l ended 0
    for t in $tokens
        if test $skip = 1
            set skip 0
        else if test $ended = 1
            printf '%s\n' $t
        else if test "$t" = --
            set ended 1
        else if string match -q -- '--*' $t
            contains -- $t $valued; and set skip 1
        else if string match -q -- '-?*' $t
            string match -qr -- "^-[^$letters]*[$letters]\$" $t; and set skip 1
        else
            printf '%s\n' $t
        end
    end
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
    set -l dir (__sb_option_value -S --state-dir | string collect)
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

# __sb_components: print the names of the components in the configuration
# file of -c FILE, -cFILE, --config FILE or --config=FILE on the command
# line (the last one given), else $SB_CONFIG, else
# $XDG_CONFIG_HOME/sb/config.json (~/.config/sb/config.json), else
# /etc/sb/config.json.  Prints nothing without jq or a readable file.
# Used by sb-cycle.fish and sb-status.fish (--component).
function __sb_components --description 'Print the names of the configured components'
    set -l file (__sb_option_value -c --config | string collect)
    if test -z "$file"; and set -q SB_CONFIG; and test -n "$SB_CONFIG"
        set file $SB_CONFIG
    end
    if test -z "$file"
        if set -q XDG_CONFIG_HOME; and test -n "$XDG_CONFIG_HOME"
            set file $XDG_CONFIG_HOME/sb/config.json
        else
            set file $HOME/.config/sb/config.json
        end
        test -f $file; or set file /etc/sb/config.json
    end
    set file (string replace -r -- '^~' $HOME $file)
    test -r $file; and command -q jq; or return
    jq -r '.components // {} | keys[]' $file 2>/dev/null
end
