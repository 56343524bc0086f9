/* listen.c - an HTTP listener turning POSTed webhooks into event records (libmicrohttpd) */
#include "listen.h"
#include "err.h"
#include "eventbridge.h"
#include "hash.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define DRAIN_SECONDS 10
#define CONNECTION_TIMEOUT 30            /* seconds of silence before a connection is dropped */
#define CONNECTION_MEMORY (64 * 1024)    /* libmicrohttpd's buffer for one connection's headers */
#define MAX_AUTH_HEADER 4096

struct server {
	const struct sb_listen_opts *o;
	size_t max_body;
	sb_listen_emit emit;
	void *ctx;
	int has_token;
	char token_hex[SB_SHA256_HEX];
	pthread_mutex_t emit_lock; /* one emit at a time */
	pthread_mutex_t lock;      /* inflight and buffered */
	long inflight;             /* requests seen by the handler and not yet completed */
	size_t buffered, budget;   /* body bytes held by all requests, and their limit */
	atomic_int stopping;
	atomic_int starting;       /* libmicrohttpd's messages are shown only while starting */
};

/* One request, from its headers to its completion. */
struct request {
	char *body;
	size_t len, cap;
	size_t reserved;  /* bytes of the server's budget held */
	unsigned deferred; /* the status to answer once the body has been read and dropped */
	const char *deferred_msg;
};

/* ---- answers --------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type, const char *text,
                              const char *header, const char *value, int close)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (header)
		MHD_add_response_header(r, header, value);
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON answer {"key":value} (value consumed) on one line. */
static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, const char *key, jv value,
                                   const char *header, const char *hvalue, int close)
{
	jv text = jv_dump_string(jv_object_set(jv_object(), jv_string(key), value), 0);
	char *line = sb_asprintf("%s\n", jv_string_value(text));
	enum MHD_Result ret = answer(c, status, "application/json", line, header, hvalue, close);

	free(line);
	jv_free(text);
	return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	switch (status) {
	case MHD_HTTP_UNAUTHORIZED:
		return answer_json(c, status, "error", jv_string(msg), MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer", 0);
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		return answer_json(c, status, "error", jv_string(msg), MHD_HTTP_HEADER_ALLOW, "POST", 0);
	case MHD_HTTP_SERVICE_UNAVAILABLE:
		return answer_json(c, status, "error", jv_string(msg), MHD_HTTP_HEADER_RETRY_AFTER, "1", 1);
	case MHD_HTTP_CONTENT_TOO_LARGE:
		return answer_json(c, status, "error", jv_string(msg), NULL, NULL, 1);
	default:
		return answer_json(c, status, "error", jv_string(msg), NULL, NULL, 0);
	}
}

/* ---- authentication -------------------------------------------------- */

/* Constant time whatever the candidate: both sides are compared as SHA-256 digests. */
static int token_matches(const struct server *s, const char *cand, size_t len)
{
	char hex[SB_SHA256_HEX];
	unsigned diff = 0;

	sb_sha256_hex(cand, len, hex);
	for (int i = 0; i < SB_SHA256_HEX - 1; i++)
		diff |= (unsigned char)(hex[i] ^ s->token_hex[i]);
	return diff == 0;
}

/* The password of Basic credentials (base64 of "user:password"). */
static int basic_matches(const struct server *s, const char *b64, size_t len)
{
	unsigned char buf[MAX_AUTH_HEADER];
	const char *colon;
	int n, pad = 0, ok;

	if (len == 0 || len % 4 || len / 4 * 3 >= sizeof buf)
		return 0;
	n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return 0;
	pad = (b64[len - 1] == '=') + (len > 1 && b64[len - 2] == '=');
	n -= pad;
	colon = memchr(buf, ':', (size_t)n);
	if (!colon)
		return 0;
	ok = token_matches(s, colon + 1, (size_t)n - (size_t)((const unsigned char *)colon + 1 - buf));
	OPENSSL_cleanse(buf, sizeof buf);
	return ok;
}

static int authorized(const struct server *s, struct MHD_Connection *c)
{
	const char *h, *cred, *end;
	size_t n;

	if (!s->has_token)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || (n = strlen(h)) > MAX_AUTH_HEADER)
		return 0;
	while (*h == ' ' || *h == '\t')
		h++;
	for (cred = h; *cred && *cred != ' ' && *cred != '\t'; cred++)
		;
	n = (size_t)(cred - h);
	while (*cred == ' ' || *cred == '\t')
		cred++;
	for (end = cred + strlen(cred); end > cred && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if (n == 6 && strncasecmp(h, "Bearer", 6) == 0)
		return token_matches(s, cred, (size_t)(end - cred));
	if (n == 5 && strncasecmp(h, "Basic", 5) == 0)
		return basic_matches(s, cred, (size_t)(end - cred));
	return 0;
}

/* ---- bodies ---------------------------------------------------------- */

/* Take n more bytes of the server's budget for r. 0, or -1 when it is spent. */
static int reserve(struct server *s, struct request *r, size_t n)
{
	int ok;

	pthread_mutex_lock(&s->lock);
	ok = s->buffered + n <= s->budget;
	if (ok)
		s->buffered += n;
	pthread_mutex_unlock(&s->lock);
	if (ok)
		r->reserved += n;
	return ok ? 0 : -1;
}

/* Append data to r's body: 0, or -1 when it passes the limit or the budget. */
static int take(struct server *s, struct request *r, const char *data, size_t n)
{
	if (n > s->max_body - r->len)
		return -1;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : r->reserved ? r->reserved : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > s->max_body + 1)
			cap = s->max_body + 1;
		if (cap > r->reserved && reserve(s, r, cap - r->reserved))
			return -1;
		r->body = sb_realloc(r->body, cap);
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	return 0;
}

/* ---- requests -------------------------------------------------------- */

/*
 * An answer decided from the headers alone. It is sent at once when the
 * client waits for "100 Continue" or sends no body; otherwise after the
 * body has been read and dropped, as a client still sending could miss an
 * answer sent over its unread data.
 */
static enum MHD_Result refuse(struct MHD_Connection *c, struct request *r, unsigned status, const char *msg,
                              int has_body)
{
	const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	if (!has_body || (expect && strcasecmp(expect, "100-continue") == 0))
		return answer_error(c, status, msg);
	r->deferred = status;
	r->deferred_msg = msg;
	return MHD_YES;
}

/* The headers have arrived: answer now, or go on to read the body. */
static enum MHD_Result begin(struct server *s, struct MHD_Connection *c, const char *url, const char *method,
                             struct request *r)
{
	const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long length = 0;
	int has_body = te != NULL;
	char *end;

	if (clen) {
		errno = 0;
		length = strtoull(clen, &end, 10);
		if (errno || end == clen || *end)
			length = ULLONG_MAX;
		has_body = has_body || length > 0;
	}
	if (atomic_load(&s->stopping))
		return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) {
		if (strcmp(url, "/health") == 0)
			return answer(c, MHD_HTTP_OK, "text/plain", "ok\n", NULL, NULL, 0);
		return answer_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST is allowed (GET /health for probes)");
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return refuse(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST is allowed", has_body);
	if (clen && length > s->max_body) {
		char msg[64];
		snprintf(msg, sizeof msg, "body larger than %zu bytes", s->max_body);
		return answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
	}
	if (!authorized(s, c))
		return refuse(c, r, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token", has_body);
	if (clen && length > 0 && reserve(s, r, (size_t)length + 1))
		return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many requests being read; try again");
	return MHD_YES;
}

/* The whole body has arrived: emit its records, then answer. */
static enum MHD_Result finish(struct server *s, struct MHD_Connection *c, struct request *r)
{
	jv recs, msg;
	enum MHD_Result ret;
	int n;

	if (r->deferred)
		return answer_error(c, r->deferred, r->deferred_msg);
	recs = sb_events_from_webhook(r->body ? r->body : "", r->len, sb_time_now());
	if (!jv_is_valid(recs)) {
		msg = jv_invalid_get_msg(recs);
		if (jv_get_kind(msg) != JV_KIND_STRING) {
			jv_free(msg);
			msg = jv_string("body not understood");
		}
		return answer_json(c, MHD_HTTP_BAD_REQUEST, "error", msg, NULL, NULL, 0);
	}
	n = jv_array_length(jv_copy(recs));
	if (n == 0) {
		char *note = sb_sns_confirmation_note(r->body ? r->body : "", r->len);
		if (note)
			sb_warn("%s", note);
		free(note);
	}
	int failed = 0;
	pthread_mutex_lock(&s->emit_lock);
	for (int i = 0; i < n && !failed; i++)
		failed = s->emit(s->ctx, jv_array_get(jv_copy(recs), i)) < 0;
	pthread_mutex_unlock(&s->emit_lock);
	jv_free(recs);
	/* Only events that reached the output are accepted: the sender keeps the others and retries. */
	if (failed)
		return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot write the events: not accepted");
	ret = answer_json(c, MHD_HTTP_ACCEPTED, "accepted", jv_number(n), NULL, NULL, 0);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		pthread_mutex_lock(&s->lock);
		s->inflight++;
		pthread_mutex_unlock(&s->lock);
		return begin(s, c, url, method, r);
	}
	if (*upload_size) {
		/*
		 * libmicrohttpd cannot answer while a body is arriving: past the
		 * limit, closing the connection is the way to stop reading.
		 */
		if (r->deferred) {
			r->len += *upload_size;
			if (r->len > s->max_body)
				return MHD_NO;
		} else if (take(s, r, upload, *upload_size)) {
			return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return finish(s, c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct request *r = *con_cls;

	(void)c;
	(void)toe;
	if (!r)
		return;
	pthread_mutex_lock(&s->lock);
	s->buffered -= r->reserved;
	s->inflight--;
	pthread_mutex_unlock(&s->lock);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *s = cls;
	char buf[256];
	size_t n;

	if (!atomic_load(&s->starting))
		return;
	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '.'))
		buf[--n] = '\0';
	sb_warn("http server: %s", buf);
}

/* ---- the listening socket ------------------------------------------- */

/*
 * Resolve addr ("HOST:PORT", "[IPV6]:PORT", ":PORT"). 0, or -1 after a
 * message. *any is set for ":PORT", which listens on every interface.
 */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen, int *any)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints = {0}, *res;
	unsigned long p;
	char *end;
	int rc;

	*any = 0;
	if (!addr || !*addr)
		return sb_error("--addr: empty address");
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof host)
			return sb_error("--addr '%s': expected [IPV6]:PORT", addr);
		memcpy(host, addr + 1, (size_t)(close - addr - 1));
		host[close - addr - 1] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return sb_error("--addr '%s': expected HOST:PORT or :PORT", addr);
		if ((size_t)(colon - addr) >= sizeof host)
			return sb_error("--addr '%s': host name too long", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		if (strchr(host, ':'))
			return sb_error("--addr '%s': put an IPv6 address in brackets: [%s]:PORT", addr, host);
		port = colon + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p < 1 || p > 65535 || *port == '+' || *port == '-' || *port == ' ')
		return sb_error("--addr '%s': port must be a number from 1 to 65535", addr);
	if (!*host || strcmp(host, "*") == 0) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		memset(ss, 0, sizeof *ss);
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons((unsigned short)p);
		*sslen = sizeof *in6;
		*any = 1;
		return 0;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return sb_error("--addr '%s': cannot resolve '%s': %s", addr, host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A non-blocking socket listening on ss, or -1 with errno. */
static int open_listener(struct sockaddr_storage *ss, socklen_t len, int any)
{
	int fd, one = 1, zero = 0, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && any && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
		/* No IPv6 on this host: every IPv4 interface then. */
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		unsigned short port = ((struct sockaddr_in6 *)ss)->sin6_port;
		memset(ss, 0, sizeof *ss);
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = port;
		len = sizeof *in;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss->ss_family == AF_INET6)
		/* ":PORT" takes IPv4 clients too; "[::1]:PORT" only what it names. */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof one);
	if (bind(fd, (struct sockaddr *)ss, len) || listen(fd, SOMAXCONN)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static unsigned connection_limit(void)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	n = n > 96 ? n - 64 : 32;
	return n > 4096 ? 4096 : (unsigned)n;
}

static unsigned pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > 8 ? 8 : (unsigned)n;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int sb_listen_serve(const struct sb_listen_opts *o, sb_listen_emit emit, void *ctx)
{
	struct server s = {0};
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct MHD_Daemon *d;
	sigset_t block, old;
	MHD_socket quiesced;
	double limit;
	int any, fd;

	if (parse_addr(o->addr, &ss, &sslen, &any))
		return SB_EXIT_USAGE;
	if (o->token && !*o->token) {
		sb_warn("the bearer token is empty");
		return SB_EXIT_USAGE;
	}
	s.o = o;
	s.emit = emit;
	s.ctx = ctx;
	s.max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
	s.budget = s.max_body > SIZE_MAX / 16 ? SIZE_MAX : 16 * s.max_body + 16;
	if (s.budget < 64 * DEFAULT_MAX_BODY)
		s.budget = 64 * DEFAULT_MAX_BODY;
	if (o->token) {
		s.has_token = 1;
		sb_sha256_hex(o->token, strlen(o->token), s.token_hex);
	}
	pthread_mutex_init(&s.emit_lock, NULL);
	pthread_mutex_init(&s.lock, NULL);
	atomic_init(&s.stopping, 0);
	atomic_init(&s.starting, 1);

	fd = open_listener(&ss, sslen, any);
	if (fd < 0) {
		sb_warn("cannot listen on %s:", o->addr);
		return SB_EXIT_IO;
	}
	/* The server's threads inherit this mask: stop signals reach the caller's thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	/*
	 * poll(), not epoll: libmicrohttpd's epoll loop races with
	 * MHD_quiesce_daemon over the listening socket (its workers and the
	 * quiescing thread both remove it from the epoll set, unlocked), which
	 * can abort or wedge a clean stop.
	 */
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                     handle, &s,
	                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &s,
	                     MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_THREAD_POOL_SIZE, pool_size(),
	                     MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT,
	                     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, &s,
	                     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!d) {
		close(fd);
		sb_warn("cannot start the HTTP server on %s", o->addr);
		pthread_mutex_destroy(&s.emit_lock);
		pthread_mutex_destroy(&s.lock);
		return SB_EXIT_IO;
	}
	atomic_store(&s.starting, 0);

	/* A stop signal interrupts the sleep. */
	while (!(o->stop && *o->stop))
		pause_ms(100);

	atomic_store(&s.stopping, 1);
	quiesced = MHD_quiesce_daemon(d);
	limit = sb_time_now() + DRAIN_SECONDS;
	for (;;) {
		long n;
		pthread_mutex_lock(&s.lock);
		n = s.inflight;
		pthread_mutex_unlock(&s.lock);
		if (n <= 0 || sb_time_now() > limit)
			break;
		pause_ms(10);
	}
	MHD_stop_daemon(d);
	if (quiesced != MHD_INVALID_SOCKET)
		close(quiesced);
	pthread_mutex_destroy(&s.emit_lock);
	pthread_mutex_destroy(&s.lock);
	return SB_EXIT_OK;
}
