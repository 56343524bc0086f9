# fish completion for sb-gen
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-gen

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-gen.  Operands are NDJSON files: fish completes files.
complete -c $cmd -l pass -d 'Also forward the opportunity records read'
complete -c $cmd -l provider -x -a 'openai\t"OpenAI Chat Completions API, or a compatible server" anthropic\t"Anthropic Messages API" rules\t"Offline playbooks of jq edits (default)"' -d 'Who makes the changes (default rules)'
complete -c $cmd -l model -x -d 'The model to ask'
complete -c $cmd -l url -x -d 'Base URL of the API'
complete -c $cmd -l temperature -x -d 'Sampling temperature (default: the server\'s)'
complete -c $cmd -l max-tokens -x -d 'Most tokens of an answer (default 4096)'
complete -c $cmd -l max-tokens-field -x -a 'max_tokens max_completion_tokens' -d 'Name of the token limit field (default by URL)'
complete -c $cmd -l playbook -r -F -d 'Rules provider: the playbook (default: the built-in one)'
complete -c $cmd -l examples -x -d 'Files of the component to show as examples (a glob)'
complete -c $cmd -l standards -r -F -d 'Quality standards for the prompt (default: a short built-in list)'
complete -c $cmd -l max-context-tokens -x -d 'Token budget of a prompt (default 12000)'
complete -c $cmd -l prompt-template -r -F -d 'Replace the built-in prompt template'
complete -c $cmd -l print-prompt -d 'Write the prompts that would be sent; call nothing'
complete -c $cmd -l edit-format -x -a 'search-replace udiff whole' -d 'Format of the edits asked for (default search-replace)'
complete -c $cmd -l component -x -d 'Component generation: the new component\'s name'
complete -c $cmd -l component-type -x -d 'Generate a new component of TYPE (needs --requirements)'
complete -c $cmd -l requirements -x -d 'Component generation: what it must do'
complete -c $cmd -l context -r -F -d 'Component generation: more context for the model'
complete -c $cmd -l timeout -x -d 'Time allowed for one answer (default 120s)'
complete -c $cmd -l retries -x -d 'Retries of a request that failed for a passing reason (default 3)'
complete -c $cmd -l breaker-failures -x -d 'Open the circuit breaker after N failed requests in a row (default 5)'
complete -c $cmd -l breaker-cooldown -x -d 'Keep it open this long (default 5m)'
complete -c $cmd -s j -l jobs -x -d 'Ask about N opportunities at once (default 1)'
