# fish completion: the options common to every sb tool
#
# Not the completion of a command: the file of each tool (sb-score.fish,
# ...) sources this one, from its own directory, and calls
#
#     __sb_complete_common TOOL
#
# to register the common options for TOOL, then adds the tool's own.
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
