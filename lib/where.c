/* where.c - --where: a jq expression that selects records */
#include "where.h"
#include "err.h"

#include <jq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb_where {
	jq_state *jq;
	char messages[1024];
};

/* jq reports compile errors through this callback, one message at a time. */
static void collect_message(void *data, jv msg)
{
	sb_where *w = data;
	size_t n = strlen(w->messages);

	const char *text = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "";

	/* Keep jq's diagnosis on one line; its closing count adds nothing. */
	if (strncmp(text, "jq: error: ", 11) == 0)
		text += 11;
	if (*text && !strstr(text, " compile error")) {
		snprintf(w->messages + n, sizeof w->messages - n, "%s%s", n ? "; " : "", text);
		for (char *p = w->messages + n; *p; p++)
			if (*p == '\n')
				*p = ' ';
	}
	jv_free(msg);
}

sb_where *sb_where_compile(const char *expr)
{
	sb_where *w = sb_calloc(1, sizeof *w);

	if (!(w->jq = jq_init()))
		sb_die(SB_EXIT_IO, "cannot initialise jq");
	jq_set_error_cb(w->jq, collect_message, w);
	if (!jq_compile(w->jq, expr))
		sb_die(SB_EXIT_USAGE, "--where: %s", w->messages[0] ? w->messages : "compile error");
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
	jq_teardown(&w->jq);
	free(w);
}
