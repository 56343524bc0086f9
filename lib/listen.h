/* listen.h - an HTTP listener turning POSTed webhooks into event records (libmicrohttpd) */
#ifndef SB_LISTEN_H
#define SB_LISTEN_H

#include <jv.h>
#include <signal.h>
#include <stddef.h>

struct sb_listen_opts {
	const char *addr;            /* "127.0.0.1:9099", "[::1]:9099", "localhost:9099", ":9099" (all interfaces) */
	const char *token;           /* bearer token, or NULL for no authentication */
	size_t max_body;             /* largest body accepted; 0 means 1 MiB */
	volatile sig_atomic_t *stop; /* serve until it is set; NULL: until the process ends */
};

/*
 * Called with each event record (consumed by the callee) of an accepted
 * request, on one thread at a time: the caller filters, de-duplicates and
 * writes, flushing at once. It runs before the request is answered, so an
 * event answered 202 has been emitted. It returns 0, or -1 when the record
 * could not be written: the request is then answered 503 (not accepted).
 */
typedef int (*sb_listen_emit)(void *ctx, jv rec);

/*
 * Serve HTTP on o->addr until *o->stop is set (by the caller's SIGTERM or
 * SIGINT handler, installed without SA_RESTART), then stop accepting, let
 * the requests in flight finish (10 seconds at most) and return. The
 * threads serving requests block SIGINT, SIGTERM, SIGHUP and SIGQUIT, so
 * those reach the calling thread.
 *
 *   POST (any path; /, /alertmanager, /eventbridge and /sns are documented
 *   and equivalent): the body goes through sb_events_from_webhook.
 *     202 {"accepted":N}   the N records have been emitted
 *     400 {"error":"..."}  not JSON, or not a document sb understands
 *     401 {"error":"..."}  a token is set and the request lacks
 *                          "Authorization: Bearer TOKEN" (or Basic with
 *                          TOKEN as password, for SNS, which can only send
 *                          credentials in the URL); WWW-Authenticate: Bearer
 *     413 {"error":"..."}  Content-Length above max_body, answered before
 *                          the body is read; a chunked body that passes the
 *                          limit has its connection closed at the limit
 *     503 {"error":"..."}  while stopping, or when the bodies being read
 *                          together would pass 16 times max_body (64 MiB at
 *                          least); Retry-After: 1
 *   GET or HEAD /health: 200 "ok" without authentication, for probes.
 *   Any other method or path: 405 with Allow: POST.
 *
 * Tokens are compared in constant time (through their SHA-256). An SNS
 * SubscriptionConfirmation is answered 202 {"accepted":0} and a note saying
 * how to confirm it is written to stderr: it is never confirmed
 * automatically.
 *
 * Returns 0; SB_EXIT_USAGE after a message for a malformed address or an
 * empty token; SB_EXIT_IO after a message naming the address when it
 * cannot listen there (or the server cannot start).
 */
int sb_listen_serve(const struct sb_listen_opts *o, sb_listen_emit emit, void *ctx);

#endif
