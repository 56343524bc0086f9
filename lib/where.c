/* where.c - --where: a jq expression that selects records */
#include "where.h"
#include "err.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb_where {
	jq_state *jq;
};

/* jq reports compile errors through this callback, one message at a time. */
static void collect_message(void *data, jv msg)
{
	char *messages = data;
	size_t n = strlen(messages);
	const char *text = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "";

	/* Keep jq's diagnosis on one line; its closing count adds nothing. */
	if (strncmp(text, "jq: error: ", 11) == 0)
		text += 11;
	if (*text && !strstr(text, " compile error")) {
		snprintf(messages + n, 1024 - n, "%s%s", n ? "; " : "", text);
		for (char *p = messages + n; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	jv_free(msg);
}

/* Programs alive, for release at exit. */
static jq_state *live[8];

static void release_all(void)
{
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (live[i])
			jq_teardown(&live[i]);
}

void sb_jq_release(jq_state *jq)
{
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (live[i] == jq)
			live[i] = NULL;
	jq_teardown(&jq);
}

static void keep_alive(jq_state *jq)
{
	static int registered;

	if (!registered)
		registered = atexit(release_all) == 0;
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (!live[i]) {
			live[i] = jq;
			return;
		}
}

jq_state *sb_jq_compile(const char *program, const char *option)
{
	char messages[1024] = "";
	jq_state *jq = jq_init();

	if (!jq)
		sb_die(SB_EXIT_IO, "cannot initialise jq");
	keep_alive(jq);
	jq_set_error_cb(jq, collect_message, messages);
	if (!jq_compile(jq, program))
		sb_die(SB_EXIT_USAGE, "%s: %s", option, messages[0] ? messages : "compile error");
	jq_set_error_cb(jq, NULL, NULL);
	return jq;
}

sb_where *sb_where_compile(const char *expr)
{
	sb_where *w = sb_calloc(1, sizeof *w);

	w->jq = sb_jq_compile(expr, "--where");
	return w;
}

int sb_where_test(sb_where *w, jv rec, char *err, size_t errsize)
{
	jv out;
	int keep = 0;

	jq_start(w->jq, jv_copy(rec), 0);
	while (jv_is_valid(out = jq_next(w->jq))) {
		jv_kind k = jv_get_kind(out);
		jv_free(out);
		if (k != JV_KIND_FALSE && k != JV_KIND_NULL) {
			keep = 1;
			break;
		}
	}
	if (!keep && jv_invalid_has_msg(jv_copy(out))) {
		jv msg = jv_invalid_get_msg(out);
		if (jv_get_kind(msg) == JV_KIND_STRING)
			snprintf(err, errsize, "%s", jv_string_value(msg));
		else
			snprintf(err, errsize, "jq error");
		jv_free(msg);
		return -1;
	}
	if (!keep)
		jv_free(out);
	return keep;
}

void sb_where_free(sb_where *w)
{
	if (!w)
		return;
	sb_jq_release(w->jq);
	free(w);
}
