# fish completion for sb-score
#
# Every sb tool has a file like this one.  The common options and the
# function they use are the same in all of them: only the name set in
# `cmd' and the tool's own options at the end differ.

set -l cmd sb-score

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

# Common options, shared by every tool.
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

# Options of sb-score.  Operands are NDJSON files: fish completes files.
complete -c $cmd -l pass -d 'Also forward the insight records read'
complete -c $cmd -l risk -x -a 'low medium high' -d 'Drop opportunities riskier than LEVEL'
complete -c $cmd -l max -x -d 'Keep only the N opportunities of highest impact'
complete -c $cmd -l users-default -x -d 'Affected users of an insight that names none'
