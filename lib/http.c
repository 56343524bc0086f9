/* http.c - HTTP GET over libcurl for every remote source */
#include "http.h"
#include "err.h"
#include "timefmt.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct body {
	char *data;
	size_t len, cap;
	int too_large;
};

static int global_init(char *err, size_t errsize)
{
	static int done;

	if (done)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsize, "cannot initialise libcurl");
		return -1;
	}
	atexit(curl_global_cleanup);
	done = 1;
	return 0;
}

/* Returning a short count makes libcurl stop the transfer with CURLE_WRITE_ERROR. */
static size_t write_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;

	if (len > SB_HTTP_MAX_BODY - b->len) {
		b->too_large = 1;
		return 0;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = sb_realloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* libcurl's messages start with a capital; ours do not ("Could not" but "SSL"). */
static void set_err(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (!errsize)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	if (isupper((unsigned char)err[0]) && islower((unsigned char)err[1]))
		err[0] = (char)tolower((unsigned char)err[0]);
}

static void describe_failure(CURL *h, CURLcode rc, const char *curlerr, double timeout,
			     const struct body *b, char *err, size_t errsize)
{
	long oserr = 0;
	char d[64];

	if (rc == CURLE_OPERATION_TIMEDOUT) {
		/* Whole seconds read as durations ("1m30s"), others as they are ("0.25s"). */
		if (timeout == floor(timeout))
			sb_duration_format(timeout, d, sizeof d);
		else
			snprintf(d, sizeof d, "%gs", timeout);
		set_err(err, errsize, "timed out after %s", d);
		return;
	}
	if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && b->too_large)) {
		set_err(err, errsize, "answer larger than %zu MiB", SB_HTTP_MAX_BODY >> 20);
		return;
	}
	if (rc == CURLE_COULDNT_CONNECT && curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK &&
	    oserr == ECONNREFUSED) {
		set_err(err, errsize, "connection refused");
		return;
	}
	if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
		set_err(err, errsize, "URL scheme is not http or https");
		return;
	}
	set_err(err, errsize, "%s", curlerr[0] ? curlerr : curl_easy_strerror(rc));
}

/*
 * Response headers: only the server's wish for a pause is of interest:
 * retry-after-ms (milliseconds, which LLM APIs send), else Retry-After in
 * seconds or as an HTTP date.
 */
static size_t read_header(char *data, size_t size, size_t n, void *arg)
{
	double *retry_after = arg;
	size_t len = size * n;
	char *end, *text;
	double v;

	if (len > 15 && strncasecmp(data, "retry-after-ms:", 15) == 0) {
		v = strtod(data + 15, &end);
		if (end != data + 15 && v >= 0)
			*retry_after = v / 1000;
	} else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0 && *retry_after < 0) {
		v = strtod(data + 12, &end);
		if (end != data + 12 && v >= 0) {
			*retry_after = v;
		} else {
			text = sb_strndup(data + 12, len - 12);
			time_t when = curl_getdate(text, NULL);
			if (when != -1)
				*retry_after = fmax(0, (double)when - sb_time_now());
			free(text);
		}
	}
	return len;
}

/* The header list: the request's own, then the bearer token; NULL when out of memory. */
static struct curl_slist *build_headers(const struct sb_http_request *req, char **auth)
{
	struct curl_slist *list = NULL, *next;

	for (const char *const *h = req->headers; h && *h; h++) {
		if (!(next = curl_slist_append(list, *h)))
			goto oom;
		list = next;
	}
	if (req->bearer) {
		*auth = sb_asprintf("Authorization: Bearer %s", req->bearer);
		if (!(next = curl_slist_append(list, *auth)))
			goto oom;
		list = next;
	}
	return list ? list : curl_slist_append(NULL, "User-Agent: sb/" SB_VERSION);
oom:
	curl_slist_free_all(list);
	return NULL;
}

static CURLcode set_options(CURL *h, const struct sb_http_request *req, struct curl_slist *headers,
			    struct body *b, double *retry_after, char *curlerr)
{
	/* A timeout in seconds becomes whole milliseconds, rounded up so 0.0001s is not "none". */
	double timeout = req->timeout;
	long ms = timeout > 0 ? (timeout < 2e9 / 1000 ? (long)ceil(timeout * 1000) : 2000000000L) : 0;
	CURLcode rc;

	/*
	 * No redirects: a source that moved is a configuration to fix, and
	 * following one would hand credentials to wherever it points.
	 */
	if ((rc = curl_easy_setopt(h, CURLOPT_URL, req->url)) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
#else
	    (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))) != CURLE_OK ||
#endif
	    (rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_USERAGENT, "sb/" SB_VERSION)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SB_HTTP_MAX_BODY)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, b)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_HEADERDATA, retry_after)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr)) != CURLE_OK)
		return rc;
	if (req->body && ((rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body)) != CURLE_OK ||
			  (rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len)) != CURLE_OK))
		return rc;
	/*
	 * libcurl signs the request itself. Compression is not asked for then:
	 * the header it adds would not be among the signed ones anyway.
	 */
	if (req->aws_sigv4)
		return (rc = curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4)) != CURLE_OK ? rc
		       : curl_easy_setopt(h, CURLOPT_USERPWD, req->userpwd);
	return curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
}

/* One request in flight: what libcurl needs until it is done. */
struct transfer {
	CURL *h;
	struct curl_slist *headers;
	char *auth;
	struct body b;
	double retry_after, timeout;
	char curlerr[CURL_ERROR_SIZE];
	void *tag;
};

static void transfer_free(struct transfer *t)
{
	if (t->auth) {
		explicit_bzero(t->auth, strlen(t->auth));
		free(t->auth);
	}
	curl_slist_free_all(t->headers);
	if (t->h)
		curl_easy_cleanup(t->h);
	free(t->b.data);
	free(t);
}

/* A transfer set up for req, or NULL with err. */
static struct transfer *transfer_new(const struct sb_http_request *req, char *err, size_t errsize)
{
	struct transfer *t;
	CURLcode rc;

	if (errsize)
		err[0] = '\0';
	if (global_init(err, errsize))
		return NULL;
	if (req->bearer && strpbrk(req->bearer, "\r\n")) {
		set_err(err, errsize, "bearer token has a line break");
		return NULL;
	}
	t = sb_calloc(1, sizeof *t);
	t->retry_after = -1;
	t->timeout = req->timeout;
	if (!(t->h = curl_easy_init())) {
		set_err(err, errsize, "cannot initialise libcurl");
	} else if (!(t->headers = build_headers(req, &t->auth))) {
		set_err(err, errsize, "out of memory");
	} else if ((rc = set_options(t->h, req, t->headers, &t->b, &t->retry_after, t->curlerr)) != CURLE_OK) {
		set_err(err, errsize, "cannot set up the request: %s", curl_easy_strerror(rc));
	} else {
		curl_easy_setopt(t->h, CURLOPT_PRIVATE, t);
		return t;
	}
	transfer_free(t);
	return NULL;
}

/* The outcome of a finished transfer, which is freed: 0 and r, or -1 and err. */
static int transfer_end(struct transfer *t, CURLcode rc, struct sb_http_response *r, char *err, size_t errsize)
{
	memset(r, 0, sizeof *r);
	r->retry_after = t->retry_after;
	if (rc != CURLE_OK) {
		describe_failure(t->h, rc, t->curlerr, t->timeout, &t->b, err, errsize);
		transfer_free(t);
		return -1;
	}
	curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = t->b.data ? t->b.data : sb_strdup("");
	r->len = t->b.len;
	t->b.data = NULL;
	transfer_free(t);
	return 0;
}

int sb_http_request(const struct sb_http_request *req, struct sb_http_response *r, char *err, size_t errsize)
{
	struct transfer *t = transfer_new(req, err, errsize);

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	if (!t)
		return -1;
	return transfer_end(t, curl_easy_perform(t->h), r, err, errsize);
}

struct sb_http_multi {
	CURLM *m;
	size_t running;
};

sb_http_multi *sb_http_multi_new(void)
{
	char err[128];
	sb_http_multi *m;

	if (global_init(err, sizeof err))
		return NULL;
	m = sb_calloc(1, sizeof *m);
	if (!(m->m = curl_multi_init())) {
		free(m);
		return NULL;
	}
	return m;
}

int sb_http_multi_add(sb_http_multi *m, const struct sb_http_request *req, void *tag, char *err, size_t errsize)
{
	struct transfer *t = transfer_new(req, err, errsize);

	if (!t)
		return -1;
	t->tag = tag;
	if (curl_multi_add_handle(m->m, t->h) != CURLM_OK) {
		set_err(err, errsize, "cannot start the request");
		transfer_free(t);
		return -1;
	}
	m->running++;
	return 0;
}

size_t sb_http_multi_running(const sb_http_multi *m)
{
	return m->running;
}

int sb_http_multi_next(sb_http_multi *m, void **tag, int *rc, struct sb_http_response *r, char *err, size_t errsize)
{
	int still, queued;
	CURLMsg *msg;

	while (m->running) {
		if (curl_multi_perform(m->m, &still) != CURLM_OK) {
			set_err(err, errsize, "libcurl's multi interface failed");
			return -1;
		}
		while ((msg = curl_multi_info_read(m->m, &queued))) {
			struct transfer *t;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			CURLcode code = msg->data.result;
			curl_multi_remove_handle(m->m, t->h);
			m->running--;
			*tag = t->tag;
			*rc = transfer_end(t, code, r, err, errsize);
			return 1;
		}
		if (curl_multi_poll(m->m, NULL, 0, 1000, NULL) != CURLM_OK) {
			set_err(err, errsize, "libcurl's multi interface failed");
			return -1;
		}
	}
	return 0;
}

void sb_http_multi_free(sb_http_multi *m)
{
	if (!m)
		return;
	curl_multi_cleanup(m->m);
	free(m);
}

int sb_http_get(const char *url, const char *bearer, double timeout, struct sb_http_response *r,
		char *err, size_t errsize)
{
	static const char *const accept_json[] = {"Accept: application/json", NULL};
	const struct sb_http_request req = {.url = url, .headers = accept_json, .bearer = bearer, .timeout = timeout};

	return sb_http_request(&req, r, err, errsize);
}

void sb_http_response_free(struct sb_http_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

char *sb_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = sb_malloc(strlen(s) * 3 + 1), *p = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

char *sb_url_redact(const char *url)
{
	const char *host = strstr(url, "://");
	const char *end, *at;
	char *out;
	size_t n;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	/* The last '@' before the path ends the user information. */
	while (at && memchr(at + 1, '@', (size_t)(end - at - 1)))
		at = memchr(at + 1, '@', (size_t)(end - at - 1));
	if (at)
		out = sb_asprintf("%.*s%s", (int)(host - url), url, at + 1);
	else
		out = sb_strdup(url);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/' && (n < 3 || strcmp(out + n - 3, "://") != 0))
		out[--n] = '\0';
	return out;
}
