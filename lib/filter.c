/* filter.c - the loop every filter tool runs: read, select, forward, consume */
#include "filter.h"
#include "err.h"
#include "output.h"
#include "progress.h"
#include "record.h"
#include "selfmetrics.h"

#include <stdlib.h>

#include <string.h>

void sb_filter_begin(struct sb_run *run, const struct sb_common *c)
{
	memset(run, 0, sizeof *run);
	run->common = c;
	if (c->where)
		run->where = sb_where_compile(c->where);
	sb_output_init(c->unbuffered);
	sb_input_open(&run->in, c);
	sb_progress_start(!c->quiet);
}

int sb_tenant_matches(const struct sb_common *c, jv rec)
{
	if (!c->tenant)
		return 1;
	char *t = sb_rec_tenant(rec);
	int ok = t && strcmp(t, c->tenant) == 0;
	free(t);
	return ok;
}

static int consumed(const struct sb_filter *f, jv rec)
{
	jv type = jv_object_get(jv_copy(rec), jv_string("type"));
	const char *name = jv_string_value(type); /* a string: the reader checked */
	int hit = 0;

	for (const char *const *t = f->consumes; *t && !hit; t++)
		hit = strcmp(*t, name) == 0;
	jv_free(type);
	return hit;
}

/* --where for one record: keep, drop, or reject it when jq raised an error. */
static int selected(struct sb_run *run, jv rec)
{
	char err[512];
	int r;

	if (!run->where)
		return 1;
	r = sb_where_test(run->where, rec, err, sizeof err);
	if (r < 0)
		sb_input_reject(&run->in, "--where: %s", err);
	return r > 0;
}

static void forward(const struct sb_filter *f, const struct sb_input *in)
{
	if (f->forward)
		f->forward(f->ctx, in->line, in->len);
	else
		sb_output_raw(in->line, in->len);
}

void sb_filter_loop(struct sb_run *run, const struct sb_filter *f)
{
	struct sb_input *in = &run->in;
	int fast = f->raw && !run->where;
	jv rec;

	while (sb_input_next_line(in)) {
		if (fast && f->raw(f->ctx, in)) {
			in->records++;
			sb_progress_update(in->records, sb_output_count());
			if (f->pass)
				forward(f, in);
			continue;
		}
		if (!jv_is_valid(rec = sb_input_parse(in)))
			continue;
		sb_progress_update(in->records, sb_output_count());
		if (!sb_tenant_matches(run->common, rec) || !selected(run, rec)) {
			jv_free(rec);
			continue;
		}
		if (!consumed(f, rec)) {
			forward(f, in);
			jv_free(rec);
			continue;
		}
		if (f->record(f->ctx, rec, in) == 0 && f->pass)
			forward(f, in);
	}
}

int sb_filter_end(struct sb_run *run)
{
	int status;

	sb_progress_done();
	sb_input_close(&run->in);
	sb_where_free(run->where);
	/*
	 * Before the last flush of stdout: a reader that went away ends the
	 * run there, and what the run did (a deployment, say) still counts.
	 */
	sb_selfmetrics_flush(run->common);
	status = sb_output_finish();
	if (status == SB_EXIT_OK && run->in.io_failed)
		status = SB_EXIT_IO;
	return status;
}
