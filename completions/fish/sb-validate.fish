# fish completion for sb-validate
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-validate

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# The rules --allow waives: those of the security and tenant checks.
function __sb_validate_rules --description 'Complete the RULE of sb-validate --allow'
    printf '%s\t%s\n' \
        eval 'Eval/exec of dynamic code' \
        shell 'Calls that run a shell (os.system, shell=True, system())' \
        deserialization 'Pickle, marshal, yaml.load without SafeLoader' \
        tls 'TLS verification turned off' \
        sql 'SQL built from strings' \
        permissions 'World-writable modes, umask 0' \
        pipe-to-shell 'A download piped into a shell' \
        secret 'Credentials in the text' \
        tenant-sql 'SQL on a tenant table without tenant_id' \
        tenant-literal 'The id of another tenant' \
        tenant-api 'An HTTP call with a literal tenant in its URL'
end

# Options of sb-validate.  Operands are NDJSON files: fish completes files.
complete -c $cmd -l only-valid -d 'Write only the changes that pass'
complete -c $cmd -l rejects -r -F -d 'Append the changes that fail to FILE'
complete -c $cmd -l allow -x -a '(__sb_validate_rules)' -d 'Waive security or tenant RULE for this run, audited'
complete -c $cmd -l check-timeout -x -d 'Time allowed to each syntax checker (default 30s)'
complete -c $cmd -l max-files -x -d 'Most files in one change (default 50)'
complete -c $cmd -l max-file-bytes -x -d 'Largest new content of a file (default 1048576)'
complete -c $cmd -l max-lines-changed -x -d 'Most lines added and removed in one change (default 2000)'
complete -c $cmd -l max-function-lines -x -d 'Longest function allowed in a changed file (default 150)'
complete -c $cmd -l max-complexity -x -d 'Highest cyclomatic complexity allowed (default 25)'
