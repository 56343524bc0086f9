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

/* Response headers: only Retry-After is of interest. */
static size_t read_header(char *data, size_t size, size_t n, void *arg)
{
	double *retry_after = arg;
	size_t len = size * n;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		char *end;
		double v = strtod(data + 12, &end);
		if (end != data + 12 && v >= 0)
			*retry_after = v; /* an HTTP date instead of seconds is ignored */
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

int sb_http_request(const struct sb_http_request *req, struct sb_http_response *r, char *err, size_t errsize)
{
	char curlerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct body b = {0};
	char *auth = NULL;
	CURLcode rc = CURLE_OK;
	CURL *h;

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	if (errsize)
		err[0] = '\0';
	if (global_init(err, errsize))
		return -1;
	if (req->bearer && strpbrk(req->bearer, "\r\n")) {
		set_err(err, errsize, "bearer token has a line break");
		return -1;
	}
	if (!(h = curl_easy_init())) {
		set_err(err, errsize, "cannot initialise libcurl");
		return -1;
	}
	if (!(headers = build_headers(req, &auth))) {
		set_err(err, errsize, "out of memory");
		rc = CURLE_OUT_OF_MEMORY;
		goto done;
	}
	if ((rc = set_options(h, req, headers, &b, &r->retry_after, curlerr)) != CURLE_OK) {
		set_err(err, errsize, "cannot set up the request: %s", curl_easy_strerror(rc));
		goto done;
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		describe_failure(h, rc, curlerr, req->timeout, &b, err, errsize);
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = b.data ? b.data : sb_strdup("");
	r->len = b.len;
	b.data = NULL;

done:
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	free(b.data);
	return rc == CURLE_OK ? 0 : -1;
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
