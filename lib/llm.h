/* llm.h - chat requests to language models: OpenAI's Chat Completions and Anthropic's Messages */
#ifndef SB_LLM_H
#define SB_LLM_H

#include <jv.h>

#include "http.h"

enum sb_llm_provider { SB_LLM_OPENAI, SB_LLM_ANTHROPIC };

struct sb_llm {
	enum sb_llm_provider provider;
	const char *url;    /* base: "https://api.openai.com/v1", "http://127.0.0.1:11434/v1", "https://api.anthropic.com" */
	const char *model;
	const char *key;    /* the secret, from the environment; NULL or "" to send none */
	const char *max_tokens_field; /* OpenAI: "max_tokens" or "max_completion_tokens" */
	double temperature; /* NAN: leave it to the server */
	long max_tokens;
	double timeout;
};

/* The default field for the output limit at url: OpenAI's own API wants max_completion_tokens, other servers max_tokens. */
const char *sb_llm_default_tokens_field(const char *url);

/* An HTTP request for a system prompt and messages ([{role, content}], borrowed); free with sb_llm_request_free. */
struct sb_llm_request {
	struct sb_http_request http;
	char *url, *body, *key_header;
	const char *headers[5];
};
void sb_llm_request_build(const struct sb_llm *l, const char *system, jv messages, struct sb_llm_request *out);
void sb_llm_request_free(struct sb_llm_request *r);

struct sb_llm_answer {
	char *text;
	long prompt_tokens, completion_tokens;
};

/* What became of a request. */
enum sb_llm_outcome {
	SB_LLM_OK,
	SB_LLM_RETRY, /* worth another attempt: 408, 409, 429, 5xx, 529, no answer */
	SB_LLM_FAIL,  /* not worth one: authentication, spend limit, a malformed request or answer */
};

/*
 * Read an answer: SB_LLM_OK with a (free its text), or another outcome
 * with a one-line reason in err that never holds the key.
 */
enum sb_llm_outcome sb_llm_read(const struct sb_llm *l, const struct sb_http_response *r, struct sb_llm_answer *a,
				char *err, size_t errsize);

#endif
