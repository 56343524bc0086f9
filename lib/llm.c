/* llm.c - chat requests to language models: OpenAI's Chat Completions and Anthropic's Messages */
#include "llm.h"
#include "err.h"
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANTHROPIC_VERSION "2023-06-01"

const char *sb_llm_default_tokens_field(const char *url)
{
	return url && strstr(url, "://api.openai.com") ? "max_completion_tokens" : "max_tokens";
}

static char *join_url(const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return sb_asprintf("%.*s%s", (int)n, base, path);
}

void sb_llm_request_build(const struct sb_llm *l, const char *system, jv messages, struct sb_llm_request *out)
{
	jv body = jv_object_set(jv_object(), jv_string("model"), jv_string(l->model ? l->model : ""));
	int n = 0;

	memset(out, 0, sizeof *out);
	out->headers[n++] = "Content-Type: application/json";
	out->headers[n++] = "Accept: application/json";
	if (l->provider == SB_LLM_ANTHROPIC) {
		/* The system prompt is a top-level field; max_tokens is required. */
		out->url = join_url(l->url, "/v1/messages");
		out->headers[n++] = "anthropic-version: " ANTHROPIC_VERSION;
		if (l->key && *l->key)
			out->headers[n++] = out->key_header = sb_asprintf("x-api-key: %s", l->key);
		body = jv_object_set(body, jv_string("system"), jv_string(system));
		body = jv_object_set(body, jv_string("max_tokens"), jv_number((double)l->max_tokens));
		body = jv_object_set(body, jv_string("messages"), jv_copy(messages));
	} else {
		out->url = join_url(l->url, "/chat/completions");
		out->http.bearer = l->key && *l->key ? l->key : NULL;
		jv all = jv_array_append(jv_array(), jv_object_set(jv_object_set(jv_object(), jv_string("role"),
										   jv_string("system")),
								      jv_string("content"), jv_string(system)));
		all = jv_array_concat(all, jv_copy(messages));
		body = jv_object_set(body, jv_string("messages"), all);
		body = jv_object_set(body, jv_string(l->max_tokens_field), jv_number((double)l->max_tokens));
	}
	if (!isnan(l->temperature))
		body = jv_object_set(body, jv_string("temperature"), jv_number(l->temperature));
	jv text = jv_dump_string(body, 0);
	out->body = sb_strdup(jv_string_value(text));
	jv_free(text);
	out->headers[n] = NULL;
	out->http.url = out->url;
	out->http.body = out->body;
	out->http.body_len = strlen(out->body);
	out->http.headers = out->headers;
	out->http.timeout = l->timeout;
}

void sb_llm_request_free(struct sb_llm_request *r)
{
	if (r->key_header) {
		explicit_bzero(r->key_header, strlen(r->key_header));
		free(r->key_header);
	}
	free(r->url);
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* The error's message and type or code, from either API's error shape. */
static void error_of(jv doc, char **message, char **type)
{
	jv e = sb_rec_get(doc, "error");

	*message = sb_rec_string(e, "message");
	*type = sb_rec_string(e, "type");
	if (!*type)
		*type = sb_rec_string(e, "code");
	jv code = sb_rec_get(e, "code");
	if (jv_get_kind(code) == JV_KIND_STRING && *type && strcmp(jv_string_value(code), *type) != 0) {
		/* OpenAI's type can be generic while its code names the quota. */
		char *both = sb_asprintf("%s/%s", *type, jv_string_value(code));
		free(*type);
		*type = both;
	}
	jv_free(code);
	jv_free(e);
}

static enum sb_llm_outcome status_outcome(long status, const char *type)
{
	if (type && (strstr(type, "insufficient_quota") || strstr(type, "billing")))
		return SB_LLM_FAIL; /* a spend limit: waiting will not lift it */
	if (status == 408 || status == 409 || status == 429 || status >= 500)
		return SB_LLM_RETRY;
	return SB_LLM_FAIL;
}

/* The text and token counts of a successful answer; -1 when the body does not have them. */
static int read_success(const struct sb_llm *l, jv doc, struct sb_llm_answer *a)
{
	jv usage = sb_rec_get(doc, "usage");
	double in = 0, out = 0;

	if (l->provider == SB_LLM_ANTHROPIC) {
		jv content = sb_rec_get(doc, "content");
		int n = jv_get_kind(content) == JV_KIND_ARRAY ? jv_array_length(jv_copy(content)) : 0;
		for (int i = 0; i < n; i++) { /* the text blocks, in order */
			jv block = jv_array_get(jv_copy(content), i);
			char *t = sb_rec_string(block, "text");
			if (t) {
				char *all = a->text ? sb_asprintf("%s%s", a->text, t) : sb_strdup(t);
				free(a->text);
				a->text = all;
				free(t);
			}
			jv_free(block);
		}
		jv_free(content);
		sb_rec_number(usage, "input_tokens", &in);
		sb_rec_number(usage, "output_tokens", &out);
	} else {
		jv choices = sb_rec_get(doc, "choices");
		jv first = jv_get_kind(choices) == JV_KIND_ARRAY && jv_array_length(jv_copy(choices)) > 0
			? jv_array_get(jv_copy(choices), 0) : jv_null();
		jv message = sb_rec_get(first, "message");
		a->text = sb_rec_string(message, "content");
		jv_free(message);
		jv_free(first);
		jv_free(choices);
		sb_rec_number(usage, "prompt_tokens", &in);
		sb_rec_number(usage, "completion_tokens", &out);
	}
	jv_free(usage);
	a->prompt_tokens = (long)in;
	a->completion_tokens = (long)out;
	return a->text ? 0 : -1;
}

/* A server may quote the key back in its error: never let it into a message. */
static void redact_key(const struct sb_llm *l, char *err)
{
	size_t n = l->key ? strlen(l->key) : 0;
	char *p;

	while (n >= 5 && (p = strstr(err, l->key))) {
		memcpy(p, "[key]", 5);
		memmove(p + 5, p + n, strlen(p + n) + 1);
	}
}

static enum sb_llm_outcome read_answer(const struct sb_llm *l, const struct sb_http_response *r,
				       struct sb_llm_answer *a, char *err, size_t errsize);

enum sb_llm_outcome sb_llm_read(const struct sb_llm *l, const struct sb_http_response *r, struct sb_llm_answer *a,
				char *err, size_t errsize)
{
	enum sb_llm_outcome o = read_answer(l, r, a, err, errsize);

	if (o != SB_LLM_OK)
		redact_key(l, err);
	return o;
}

static enum sb_llm_outcome read_answer(const struct sb_llm *l, const struct sb_http_response *r,
				       struct sb_llm_answer *a, char *err, size_t errsize)
{
	jv doc = jv_parse_sized(r->body, (int)r->len);
	enum sb_llm_outcome o;

	memset(a, 0, sizeof *a);
	if (r->status >= 200 && r->status < 300) {
		if (jv_get_kind(doc) != JV_KIND_OBJECT || read_success(l, doc, a) < 0) {
			snprintf(err, errsize, "HTTP %ld with an answer that is not a %s response", r->status,
				 l->provider == SB_LLM_ANTHROPIC ? "Messages" : "Chat Completions");
			free(a->text);
			a->text = NULL;
			jv_free(doc);
			return SB_LLM_RETRY; /* a garbled answer may come out right next time */
		}
		jv_free(doc);
		return SB_LLM_OK;
	}
	char *message = NULL, *type = NULL;
	if (jv_get_kind(doc) == JV_KIND_OBJECT)
		error_of(doc, &message, &type);
	o = status_outcome(r->status, type);
	if (r->status == 401 || r->status == 403)
		snprintf(err, errsize, "HTTP %ld: authentication failed%s%s", r->status, message ? ": " : "",
			 message ? message : "");
	else
		snprintf(err, errsize, "HTTP %ld%s%s%s%s", r->status, type ? " " : "", type ? type : "",
			 message ? ": " : "", message ? message : "");
	free(message);
	free(type);
	jv_free(doc);
	return o;
}
