/* http.h - HTTP GET over libcurl for every remote source */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stddef.h>

/* Larger answers are refused rather than held in memory. */
#define SB_HTTP_MAX_BODY ((size_t)256 << 20)

struct sb_http_response {
	long status; /* HTTP status code */
	char *body;  /* NUL-terminated, also when the answer has NUL bytes of its own */
	size_t len;
	double retry_after; /* seconds from retry-after-ms or Retry-After (seconds or an HTTP date), or -1 */
};

/* One request. Unset fields are left out. */
struct sb_http_request {
	const char *url;
	const char *body;            /* POST this body (GET when NULL) */
	size_t body_len;
	const char *const *headers;  /* "Name: value" lines, NULL-terminated */
	const char *bearer;          /* "Authorization: Bearer" token */
	const char *aws_sigv4;       /* "aws:amz:REGION:SERVICE": libcurl signs the request */
	const char *userpwd;         /* "ACCESS_KEY_ID:SECRET" for aws_sigv4 */
	double timeout;              /* seconds for the whole exchange; 0 or less: none */
};

/*
 * Send req. Returns 0 when an answer arrived, whatever its status (r is
 * then filled and must be freed), or -1 with a one-line reason in err when
 * none did. Never prints; err never holds a secret.
 */
int sb_http_request(const struct sb_http_request *req, struct sb_http_response *r, char *err, size_t errsize);

/*
 * Several requests at once (libcurl's multi interface): add them, then
 * take each as it finishes. A tag given with a request comes back with it.
 */
typedef struct sb_http_multi sb_http_multi;
sb_http_multi *sb_http_multi_new(void);
/* Start req (it may be freed once this returns); 0, or -1 with err. */
int sb_http_multi_add(sb_http_multi *m, const struct sb_http_request *req, void *tag, char *err, size_t errsize);
size_t sb_http_multi_running(const sb_http_multi *m);
/*
 * Wait for the next request to finish: 1 with its tag and *rc as
 * sb_http_request would return it (r filled, or err); 0 when none is in
 * flight; -1 when libcurl failed.
 */
int sb_http_multi_next(sb_http_multi *m, void **tag, int *rc, struct sb_http_response *r, char *err, size_t errsize);
void sb_http_multi_free(sb_http_multi *m);

/*
 * GET url over http or https, following no redirects. bearer is a token
 * sent as "Authorization: Bearer TOKEN", or NULL. timeout is in seconds and
 * bounds the whole exchange, connecting included; 0 or less means none.
 * Returns 0 when an answer arrived, whatever its status (r is then filled
 * and must be freed), or -1 with a one-line reason in err when none did:
 * "connection refused", "timed out after 30s", or libcurl's description
 * (which names the host). Never prints; err never holds the token.
 */
int sb_http_get(const char *url, const char *bearer, double timeout, struct sb_http_response *r,
		char *err, size_t errsize);

void sb_http_response_free(struct sb_http_response *r);

/*
 * Percent-encode s as a query parameter value: every byte but the RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX. free() the result.
 */
char *sb_url_escape(const char *s);

/*
 * url without its user information ("https://user:pass@host/x" becomes
 * "https://host/x") and without trailing slashes, fit for messages.
 * free() the result.
 */
char *sb_url_redact(const char *url);

#endif
