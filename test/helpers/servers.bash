# Servers for tests of remote sources: free loopback ports, Prometheus and
# node_exporter, and a one-shot fake HTTP server (netcat-openbsd). Every
# server is started in the background with its PID appended to a file that
# stop_servers reads in teardown, so none outlives a failed test.
#
# Background processes close fd 3, bats' own output, or bats would wait for them.

# port_listening PORT: true when something listens on TCP PORT.
port_listening() {
	local hex
	hex=$(printf ':%04X' "$1")
	awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port: a TCP port nothing listens on, below the kernel's ephemeral range.
free_port() {
	local port i
	for i in $(seq 100); do
		port=$((20000 + RANDOM % 10000))
		port_listening "$port" || { echo "$port"; return 0; }
	done
	echo "no free port found" >&2
	return 1
}

# deadline SECONDS: the time SECONDS from now, for past_deadline.
deadline() { awk -v n="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%.3f\n", n + s }'; }
past_deadline() { awk -v n="$EPOCHREALTIME" -v d="$1" 'BEGIN { exit !(n > d) }'; }

# wait_listening PORT [SECONDS]: wait until something listens on PORT.
wait_listening() {
	local limit
	limit=$(deadline "${2:-5}")
	until port_listening "$1"; do
		past_deadline "$limit" && { echo "nothing listens on port $1" >&2; return 1; }
		sleep 0.02
	done
}

# http_ok PORT PATH: true when GET PATH on 127.0.0.1:PORT answers 200.
http_ok() {
	local fd status
	exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
	read -r -t 2 _ status _ <&"$fd"
	exec {fd}>&-
	[ "$status" = 200 ]
}

# remember_pid PID: stop_servers will stop it.
remember_pid() { echo "$1" >>"$SERVER_PIDS"; }

# stop_servers: stop every remembered server (TERM, then KILL after 5 s) and reap it.
stop_servers() {
	local pid
	[ -f "${SERVER_PIDS:-}" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || continue
		wait_gone "$pid" 5 2>/dev/null || kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done <"$SERVER_PIDS"
	rm -f "$SERVER_PIDS"
}

# start_prometheus DIR PORT CONFIG: serve DIR/data with CONFIG on
# 127.0.0.1:PORT and wait until it is ready; its log is DIR/prometheus.log.
start_prometheus() {
	local dir=$1 port=$2 config=$3 limit
	prometheus --config.file="$config" --web.listen-address="127.0.0.1:$port" \
		--storage.tsdb.path="$dir/data" >"$dir/prometheus.log" 2>&1 3>&- &
	remember_pid $!
	limit=$(deadline 20)
	until http_ok "$port" /-/ready 2>/dev/null; do
		if past_deadline "$limit"; then
			echo "prometheus on port $port not ready; its log:" >&2
			tail -20 "$dir/prometheus.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

# fake_http PORT ANSWER [REQUEST]: answer one connection on 127.0.0.1:PORT
# with the raw HTTP answer in the file ANSWER, keeping the request in the
# file REQUEST; the server ends when the client closes. Without ANSWER ("")
# it accepts and never answers. Its PID is in FAKE_PID.
fake_http() {
	local port=$1 answer=$2 request=${3:-/dev/null}
	if [ -n "$answer" ]; then
		nc -l 127.0.0.1 "$port" <"$answer" >"$request" 2>/dev/null 3>&- &
	else
		nc -d -l 127.0.0.1 "$port" >"$request" 2>/dev/null 3>&- &
	fi
	FAKE_PID=$!
	remember_pid $!
	wait_listening "$port"
}

# wait_gone PID SECONDS: wait until process PID has ended.
wait_gone() {
	local limit state
	limit=$(deadline "$2")
	while kill -0 "$1" 2>/dev/null; do
		# the process may end between kill -0 and this read: no error then
		state=$(sed -n 's/.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
		[ "$state" = Z ] && return 0
		past_deadline "$limit" && { echo "process $1 still runs" >&2; return 1; }
		sleep 0.02
	done
}

# http_answer STATUS CONTENT-TYPE BODY: a raw HTTP/1.1 answer on stdout.
http_answer() {
	printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
		"$1" "$2" "${#3}" "$3"
}
