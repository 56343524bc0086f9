# fish completion for sb-analyze
#
# Every sb tool has a file like this one: the options common to all of
# them come from sb-common.fish, in the same directory, and only the
# tool's own options are here.

set -l cmd sb-analyze

# Common options, shared by every tool (sourcing it twice is harmless).
source (dirname (realpath (status filename)))/sb-common.fish
__sb_complete_common $cmd

# Options of sb-analyze.  Operands are NDJSON files: fish completes files.
complete -c $cmd -l pass -d 'Also forward the metric, log and event records read'
complete -c $cmd -l window -x -d 'Window: N points (default 60) or a duration such as 15m'
complete -c $cmd -l sigma -x -d 'Degradation threshold in baseline standard deviations (default 3)'
complete -c $cmd -l min-change -x -d 'Smallest relative change that counts, in percent (default 5)'
complete -c $cmd -l z -x -d 'Anomaly threshold in standard deviations (default 4)'
complete -c $cmd -l robust -d 'Anomalies by median and MAD instead of mean and standard deviation'
complete -c $cmd -l higher-is-better -x -d 'Metric NAME degrades when it falls'
complete -c $cmd -l lower-is-better -x -d 'Metric NAME degrades when it rises'
complete -c $cmd -l limit -x -d 'Trend threshold of a metric: NAME=VALUE'
complete -c $cmd -l horizon -x -d 'How far ahead trends are projected (default 24h)'
complete -c $cmd -l near -x -d 'Completions: p95 duration or peak memory at PCT percent of its limit (default 80)'
complete -c $cmd -l min-level -x -a 'DEBUG INFO WARN ERROR FATAL' -d 'Cluster log messages at LEVEL and above (default WARN)'
complete -c $cmd -l min-count -x -d 'A log template is an insight from N messages (default 5)'
complete -c $cmd -l similarity -x -d 'Similarity threshold of log clustering, 0 to 1 (default 0.5)'
complete -c $cmd -l templates -n 'not __fish_seen_argument -l summary' -d 'Write each log record with its template instead of insights'
complete -c $cmd -l summary -n 'not __fish_seen_argument -l templates' -d 'Write summary records counting the insights instead'
complete -c $cmd -l max-series -x -d 'Series kept in memory (default 100000)'
complete -c $cmd -l max-templates -x -d 'Log templates kept in memory (default 50000)'
