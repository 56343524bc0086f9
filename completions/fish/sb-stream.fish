# fish completion for sb-stream
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-stream

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-stream.  The first operand may name the SOURCE (file,
# prometheus, cloudwatch-metrics, cloudwatch-logs, cloudwatch-alarms or
# listen);
# the other operands are files, which fish completes, with the file source
# only: the others read none.

# The operands on the command line before the cursor, one a line.
function __sb_stream_operands --description 'Print the operands of the sb-stream command line'
    __sb_operands --format --format-jq --map --type --since --until --checkpoint --dedup \
        --sample --url --query --step --name --tenant-label --timeout \
        --bearer-token-file --namespace --metric --dimension --stat --period \
        --group --group-prefix --filter --insights --prefix --state --cache-ttl \
        --endpoint --addr --token-file --retries --breaker-failures \
        --breaker-cooldown --fallback
end

function __sb_stream_no_operand --description 'True when sb-stream has no operand yet'
    test (count (__sb_stream_operands)) -eq 0
end

function __sb_stream_no_files --description 'True when the SOURCE of sb-stream reads no file'
    set -l operands (__sb_stream_operands)
    contains -- "$operands[1]" prometheus cloudwatch-metrics cloudwatch-logs cloudwatch-alarms listen
end

complete -c $cmd -n __sb_stream_no_operand -a file -d 'Read files or standard input (default)'
complete -c $cmd -n __sb_stream_no_operand -a prometheus -d 'Query the Prometheus HTTP API'
complete -c $cmd -n __sb_stream_no_operand -a cloudwatch-metrics -d 'Fetch the datapoints of CloudWatch metrics'
complete -c $cmd -n __sb_stream_no_operand -a cloudwatch-logs -d 'Read CloudWatch Logs events or run a Logs Insights query'
complete -c $cmd -n __sb_stream_no_operand -a cloudwatch-alarms -d 'Read the states of CloudWatch alarms'
complete -c $cmd -n __sb_stream_no_operand -a listen -d 'Serve webhooks of Alertmanager, EventBridge and SNS'
complete -c $cmd -n __sb_stream_no_files -f
complete -c $cmd -l format -x -a 'ndjson syslog combined json alertmanager' -d 'Input format'
complete -c $cmd -l format-jq -x -d 'Turn each raw line into a record with a jq PROGRAM'
complete -c $cmd -l map -x -d 'Rename fields: move .SRC to DST'
complete -c $cmd -l type -x -a 'metric log event' -d 'Type of input records that have none'
complete -c $cmd -l since -x -d 'Drop records before T'
complete -c $cmd -l until -x -d 'Drop records at or after T'
complete -c $cmd -s F -l follow -d 'Keep reading appended lines, across rotation, like tail -F'
complete -c $cmd -l checkpoint -x -d 'Resume from, and record, where each file was read'
complete -c $cmd -l dedup -x -d 'Drop records seen within WINDOW (default 5m for events)'
complete -c $cmd -l include-system -d 'With --tenant, also keep records of no tenant'
complete -c $cmd -l sample -x -d 'Keep this fraction of log records'
complete -c $cmd -l sample-errors -d 'Sample ERROR and FATAL logs too'
complete -c $cmd -s n -l dry-run -d 'Write no checkpoint and no de-duplication state'
complete -c $cmd -l url -x -d 'Prometheus: the server\'s base URL'
complete -c $cmd -l query -x -d 'Prometheus: a range query'
complete -c $cmd -l step -x -d 'Prometheus: resolution of the range query (default 15s)'
complete -c $cmd -l name -x -d 'Prometheus: metric name of the records'
complete -c $cmd -l tenant-label -x -d 'Prometheus: label that names the tenant'
complete -c $cmd -l timeout -x -d 'Remote sources: time allowed for the run (default 30s; CloudWatch 5m)'
complete -c $cmd -l bearer-token-file -r -F -d 'Prometheus: send the token in FILE'
complete -c $cmd -l namespace -x -d 'CloudWatch metrics: the namespace (AWS/Lambda, ...)'
complete -c $cmd -l metric -x -d 'CloudWatch metrics: a metric (default: all, by ListMetrics)'
complete -c $cmd -l dimension -x -d 'CloudWatch metrics: a dimension to match (K=V)'
complete -c $cmd -l stat -x -a 'Average Sum Minimum Maximum SampleCount p50 p90 p95 p99' -d 'CloudWatch metrics: statistic (default Average)'
complete -c $cmd -l period -x -d 'CloudWatch metrics: period of the datapoints (default 60s)'
complete -c $cmd -l group -x -d 'CloudWatch Logs: the log group'
complete -c $cmd -l group-prefix -x -d 'CloudWatch Logs: every log group whose name starts so'
complete -c $cmd -l filter -x -d 'CloudWatch Logs: a filter pattern'
complete -c $cmd -l insights -x -d 'CloudWatch Logs: run a Logs Insights QUERY instead'
complete -c $cmd -l prefix -x -d 'CloudWatch alarms: alarms whose name starts so'
complete -c $cmd -l state -x -a 'OK ALARM INSUFFICIENT_DATA' -d 'CloudWatch alarms: only alarms in STATE'
complete -c $cmd -l cache-ttl -x -d 'CloudWatch alarms: reuse states fetched this recently (default 60s)'
complete -c $cmd -l endpoint -x -d 'CloudWatch: send requests to URL (also AWS_ENDPOINT_URL)'
complete -c $cmd -l addr -x -d 'Listen: address to serve webhooks on (default 127.0.0.1:9099)'
complete -c $cmd -l token-file -r -F -d 'Listen: require the bearer token in FILE'
complete -c $cmd -l retries -x -d 'CloudWatch: retries of a throttled or failed request (default 4)'
complete -c $cmd -l breaker-failures -x -d 'Remote sources: open the breaker after N failed runs (default 5)'
complete -c $cmd -l breaker-cooldown -x -d 'Remote sources: keep it open this long (default 5m)'
complete -c $cmd -l fallback -r -F -d 'Remote sources: read these NDJSON files while the breaker is open'
