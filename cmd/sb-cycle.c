/* sb-cycle - one improvement cycle: stream, analyze, score, generate, validate, deploy, every stage kept */
#include "config.h"
#include "deployment.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "opts.h"
#include "proc.h"
#include "output.h"
#include "record.h"
#include "selfmetrics.h"
#include "state.h"
#include "timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_WINDOW = 1000, OPT_MAX, OPT_JOBS, OPT_SOURCE, OPT_COMPONENT, OPT_EMERGENCY, OPT_YES, OPT_DRY_RUN,
};

static const struct sb_option options[] = {
	{"window", 0, "HOURS", "analyse the telemetry of the last HOURS hours (default 1; 0: all of it)", OPT_WINDOW,
	 "SB_CYCLE_WINDOW", "cycle.window"},
	{"max", 0, "N", "work on at most N opportunities (default 3)", OPT_MAX, "SB_CYCLE_MAX", "cycle.max"},
	{"jobs", 'j', "N", "generate and validate for N opportunities at once (default 1)", OPT_JOBS,
	 "SB_CYCLE_JOBS", "cycle.jobs"},
	{"source", 0, "ARGS", "an sb-stream source, its arguments split at spaces (repeatable; replaces cycle.sources)",
	 OPT_SOURCE, NULL, NULL},
	{"component", 0, "NAME", "improve only this component", OPT_COMPONENT, NULL, NULL},
	{"emergency", 0, NULL, "read alarm events; start a cycle for a component as soon as its alarm fires",
	 OPT_EMERGENCY, NULL, NULL},
	{"yes", 'y', NULL, "let sb-deploy deploy even when features.autonomous_improvements is off", OPT_YES, NULL,
	 NULL},
	{"dry-run", 'n', NULL, "run every stage, but sb-deploy only reports what it would do", OPT_DRY_RUN, NULL, NULL},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

struct settings {
	double window;
	long max, jobs;
	char **sources;
	int nsources;
	const char *component;
	int emergency, yes, dry_run;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_WINDOW: return sb_opt_double("window", arg, 0, &s->window);
	case OPT_MAX: return sb_opt_long("max", arg, 1, 1000000, &s->max);
	case OPT_JOBS: return sb_opt_long("jobs", arg, 1, 256, &s->jobs);
	case OPT_SOURCE:
		s->sources = sb_realloc(s->sources, (size_t)(s->nsources + 1) * sizeof *s->sources);
		s->sources[s->nsources++] = (char *)arg;
		return 0;
	case OPT_COMPONENT:
		if (!sb_component_name_ok(arg))
			return sb_error("--component: '%s' is not a component name", arg);
		s->component = arg;
		return 0;
	case OPT_EMERGENCY: s->emergency = 1; return 0;
	case OPT_YES: s->yes = 1; return 0;
	case OPT_DRY_RUN: s->dry_run = 1; return 0;
	}
	return -1;
}

/* ---- signals: a SIGTERM stops the running stage, then the cycle ---- */

static volatile sig_atomic_t stop_signal;
static volatile pid_t running_group; /* the process group of the running stage, or 0 */

static void on_stop(int sig)
{
	stop_signal = sig;
	if (running_group > 0)
		kill(-running_group, SIGTERM);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- the tools ---- */

/* An argv under construction. */
struct args {
	char **v;
	int n;
};

static void arg(struct args *a, const char *s)
{
	a->v = sb_realloc(a->v, (size_t)(a->n + 2) * sizeof *a->v);
	a->v[a->n++] = sb_strdup(s);
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* The options every stage shares: tenant, error handling, verbosity. */
static void common_args(struct args *a, const struct sb_common *c)
{
	if (c->tenant) {
		arg(a, "--tenant");
		arg(a, c->tenant);
	}
	if (c->on_error == SB_ON_ERROR_FAIL)
		arg(a, "--on-error=fail");
	if (c->quiet)
		arg(a, "--quiet");
	if (c->verbose)
		arg(a, "--verbose");
}

/* ---- one cycle ---- */

struct stage {
	char *name;
	long in, out;
	int exit;
	double start, end;
};

struct cycle {
	const struct settings *set;
	const struct sb_common *common;
	char id[64];
	char *dir;
	const char *component;
	jv trigger;
	double start;
	struct stage *stages;
	int nstages;
	const char *status;
	int exit;
};

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int ch;

	if (!f)
		return 0;
	while ((ch = getc_unlocked(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static char *stage_file(const struct cycle *cy, int number, const char *name, const char *ext)
{
	return sb_asprintf("%s/%d-%s.%s", cy->dir, number, name, ext);
}

/* cycle.json, replaced atomically after every stage: the folder is always consistent. */
static void write_cycle_json(const struct cycle *cy, double end)
{
	char ts[SB_TIME_BUFSZ], *path = sb_asprintf("%s/cycle.json", cy->dir);
	jv o = jv_object_set(jv_object(), jv_string("id"), jv_string(cy->id)), stages = jv_array();

	o = jv_object_set(o, jv_string("start"), jv_string(sb_time_format(cy->start, ts)));
	o = jv_object_set(o, jv_string("end"), end > 0 ? jv_string(sb_time_format(end, ts)) : jv_null());
	o = jv_object_set(o, jv_string("status"), jv_string(cy->status));
	o = jv_object_set(o, jv_string("exit"), jv_number(cy->exit));
	o = jv_object_set(o, jv_string("window"), jv_number(cy->set->window));
	o = jv_object_set(o, jv_string("max"), jv_number((double)cy->set->max));
	o = jv_object_set(o, jv_string("jobs"), jv_number((double)cy->set->jobs));
	o = jv_object_set(o, jv_string("tenant"), cy->common->tenant ? jv_string(cy->common->tenant) : jv_null());
	o = jv_object_set(o, jv_string("component"), cy->component ? jv_string(cy->component) : jv_null());
	o = jv_object_set(o, jv_string("trigger"), jv_copy(cy->trigger));
	for (int i = 0; i < cy->nstages; i++) {
		const struct stage *s = &cy->stages[i];
		jv r = jv_object_set(jv_object(), jv_string("name"), jv_string(s->name));
		r = jv_object_set(r, jv_string("records_in"), jv_number((double)s->in));
		r = jv_object_set(r, jv_string("records_out"), jv_number((double)s->out));
		r = jv_object_set(r, jv_string("exit"), s->exit >= 0 ? jv_number(s->exit) : jv_null());
		r = jv_object_set(r, jv_string("start"), jv_string(sb_time_format(s->start, ts)));
		r = jv_object_set(r, jv_string("end"), s->end > 0 ? jv_string(sb_time_format(s->end, ts)) : jv_null());
		stages = jv_array_append(stages, r);
	}
	o = jv_object_set(o, jv_string("stages"), stages);
	if (sb_state_write(path, o) < 0)
		sb_die(SB_EXIT_IO, "cannot write '%s':", path);
	free(path);
}

/*
 * Run argv with stdin from in (NULL: /dev/null), stdout appended to out and
 * stderr to err, in a process group of its own so a SIGTERM reaches all of
 * it. Returns its exit status, 128 + the signal that ended it, or 127 when
 * it could not be started.
 */
static int run_process(char **argv, const char *in, const char *out, const char *err)
{
	pid_t pid = sb_proc_spawn(argv, in, out, 1, err, 1);
	int status;

	if (pid < 0)
		sb_die(SB_EXIT_IO, "cannot start %s:", argv[0]);
	running_group = pid;
	if (stop_signal)
		kill(-pid, SIGTERM);
	if ((status = sb_proc_wait(pid)) < 0)
		sb_die(SB_EXIT_IO, "waiting for %s:", argv[0]);
	running_group = 0;
	return status;
}

static struct stage *begin_stage(struct cycle *cy, const char *name, const char *in)
{
	cy->stages = sb_realloc(cy->stages, (size_t)(cy->nstages + 1) * sizeof *cy->stages);
	struct stage *s = &cy->stages[cy->nstages++];
	s->name = sb_strdup(name);
	s->in = in ? count_lines(in) : 0;
	s->out = 0;
	s->exit = -1;
	s->start = sb_time_now();
	s->end = 0;
	write_cycle_json(cy, 0);
	return s;
}

static int end_stage(struct cycle *cy, struct stage *s, int status, const char *out)
{
	s->exit = status;
	s->end = sb_time_now();
	s->out = count_lines(out);
	write_cycle_json(cy, 0);
	if (cy->common->verbose)
		sb_warn("%s: %ld records in, %ld out, exit %d", s->name, s->in, s->out, status);
	/* 0 and 1 (a documented negative outcome: a change rejected) go on; anything else stops. */
	return status <= 1 && !stop_signal;
}

static int reads_stdin(const struct sb_common *c)
{
	for (int i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], "-") == 0)
			return 1;
	return 0;
}

/* The stream stage: every source in turn, into one file. */
static int stream_stage(struct cycle *cy, int number, char **out)
{
	char *err = stage_file(cy, number, "stream", "err"), *tool = sb_tool_path("sb-stream"), ts[SB_TIME_BUFSZ];
	jv sources = sb_config_get(cy->common->config, "cycle.sources");
	struct stage *s;
	int status = 0, n = 0;

	*out = stage_file(cy, number, "stream", "ndjson");
	close(open(*out, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	s = begin_stage(cy, "stream", NULL);
	/* Each source: the words of --source, the argv arrays of cycle.sources, or the FILE operands. */
	for (int k = 0;; k++) {
		struct args a = {0};
		int uses_files = cy->common->nfiles && !cy->set->emergency; /* in emergency mode FILE holds the alarms */
		if (cy->set->nsources ? k >= cy->set->nsources
		    : uses_files ? k > 0
				 : jv_get_kind(sources) != JV_KIND_ARRAY || k >= jv_array_length(jv_copy(sources)))
			break;
		arg(&a, tool);
		if (cy->set->nsources) {
			char *copy = sb_strdup(cy->set->sources[k]), *save = NULL;
			for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
				arg(&a, w);
			free(copy);
		} else if (uses_files) {
			for (int i = 0; i < cy->common->nfiles; i++)
				arg(&a, cy->common->files[i]);
		} else {
			jv src = jv_array_get(jv_copy(sources), k);
			jv_array_foreach(src, i, w)
			{
				if (jv_get_kind(w) == JV_KIND_STRING)
					arg(&a, jv_string_value(w));
				jv_free(w);
			}
			jv_free(src);
		}
		if (cy->set->window > 0) {
			arg(&a, "--since");
			arg(&a, sb_time_format(sb_clock() - cy->set->window * 3600, ts));
		}
		common_args(&a, cy->common);
		/* "-" among the FILE operands: sb-stream reads the cycle's own standard input. */
		int rc = run_process(a.v, uses_files && reads_stdin(cy->common) ? "/dev/stdin" : NULL, *out, err);
		if (rc > status)
			status = rc;
		args_free(&a);
		n++;
		if (rc > 1 || stop_signal)
			break;
	}
	if (n == 0)
		sb_warn("no telemetry source: give FILE operands, --source or cycle.sources in the configuration");
	jv_free(sources);
	free(tool);
	free(err);
	return end_stage(cy, s, status, *out);
}

/* A stage that is one tool reading the previous stage's file. */
static int tool_stage(struct cycle *cy, int number, const char *name, const char *tool_name, struct args *a,
		      const char *in, char **out)
{
	char *err = stage_file(cy, number, name, "err"), *tool = sb_tool_path(tool_name);
	struct stage *s;
	int status;

	*out = stage_file(cy, number, name, "ndjson");
	close(open(*out, O_WRONLY | O_CREAT | O_TRUNC, 0600));
	s = begin_stage(cy, name, in);
	free(a->v[0]);
	a->v[0] = tool;
	common_args(a, cy->common);
	status = run_process(a->v, in, *out, err);
	free(err);
	return end_stage(cy, s, status, *out);
}

/*
 * The parts' outputs back in the input's order: sb-validate writes one line
 * for each line it reads, so output line k of a part answers its input line
 * k. Whatever is left over (a part that failed, a malformed line dropped)
 * follows, part by part: nothing is lost, only the order.
 */
static void join_parts(const char *out, char **outs, long jobs, const unsigned char *plan, size_t nplan)
{
	FILE *o = fopen(out, "w"), **in = sb_calloc((size_t)jobs, sizeof *in);
	char *line = NULL;
	size_t cap = 0;

	if (!o)
		sb_die(SB_EXIT_IO, "cannot write '%s':", out);
	for (long j = 0; j < jobs; j++)
		in[j] = fopen(outs[j], "r");
	for (size_t k = 0; k < nplan; k++)
		if (in[plan[k]] && getline(&line, &cap, in[plan[k]]) > 0)
			fputs(line, o);
	for (long j = 0; j < jobs; j++) {
		while (in[j] && getline(&line, &cap, in[j]) > 0)
			fputs(line, o);
		if (in[j])
			fclose(in[j]);
	}
	free(line);
	free(in);
	if (fclose(o) != 0)
		sb_die(SB_EXIT_IO, "cannot write '%s':", out);
}

/*
 * Validation of several changes at once: the changes dealt out to jobs
 * files, every other record to the first, one sb-validate per file, the
 * outputs joined in order.
 */
static int validate_stage(struct cycle *cy, int number, const char *in, char **out)
{
	long jobs = cy->set->jobs;
	char *err = stage_file(cy, number, "validate", "err"), *tool = sb_tool_path("sb-validate");
	char **parts = sb_calloc((size_t)jobs, sizeof *parts), **outs = sb_calloc((size_t)jobs, sizeof *outs);
	FILE **pf = sb_calloc((size_t)jobs, sizeof *pf), *src = fopen(in, "r");
	pid_t *pids = sb_calloc((size_t)jobs, sizeof *pids);
	struct stage *s;
	int status = 0;
	long nchange = 0;

	*out = stage_file(cy, number, "validate", "ndjson");
	s = begin_stage(cy, "validate", in);
	for (long j = 0; j < jobs; j++) {
		parts[j] = sb_asprintf("%s/%d-validate.part%ld.in", cy->dir, number, j);
		outs[j] = sb_asprintf("%s/%d-validate.part%ld.ndjson", cy->dir, number, j);
		if (!(pf[j] = fopen(parts[j], "w")))
			sb_die(SB_EXIT_IO, "cannot write '%s':", parts[j]);
		unlink(outs[j]);
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned char *plan = NULL; /* the part each input line went to, to put the output back in order */
	size_t nplan = 0;
	while (src && getline(&line, &cap, src) > 0) {
		long j = strstr(line, "\"type\":\"change\"") ? nchange++ % jobs : 0;
		fputs(line, pf[j]);
		plan = sb_realloc(plan, nplan + 1);
		plan[nplan++] = (unsigned char)j;
	}
	free(line);
	if (src)
		fclose(src);
	for (long j = 0; j < jobs; j++) {
		fclose(pf[j]);
		pid_t pid = fork();
		if (pid == 0) {
			struct args a = {0};
			arg(&a, tool);
			common_args(&a, cy->common);
			running_group = 0;
			_exit(run_process(a.v, parts[j], outs[j], err));
		}
		pids[j] = pid;
	}
	for (long j = 0; j < jobs; j++) {
		int st;
		while (waitpid(pids[j], &st, 0) < 0 && errno == EINTR)
			if (stop_signal)
				kill(pids[j], SIGTERM);
		int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (rc > status)
			status = rc;
	}
	join_parts(*out, outs, jobs, plan, nplan);
	for (long j = 0; j < jobs; j++) {
		unlink(outs[j]);
		unlink(parts[j]);
		free(outs[j]);
		free(parts[j]);
	}
	free(plan);
	free(parts);
	free(outs);
	free(pf);
	free(pids);
	free(tool);
	free(err);
	return end_stage(cy, s, status, *out);
}

/* A cycle id that sorts by time and differs between two cycles started in the same second. */
static void cycle_id(char id[64], double start)
{
	time_t t = (time_t)start;
	struct tm tm;
	char stamp[32], pid[32], hex[SB_ID_LEN + 1];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
	snprintf(pid, sizeof pid, "%ld.%f", (long)getpid(), start);
	sb_content_id(hex, "cycle", pid, NULL);
	snprintf(id, 64, "%s.%06dZ-%.6s", stamp, (int)((start - floor(start)) * 1e6), hex);
}

static int stages(struct cycle *cy)
{
	char *f1 = NULL, *f2 = NULL, *f3 = NULL, *f4 = NULL, *f5 = NULL, *f6 = NULL, num[32];
	struct args a = {0};
	int go;

	go = stream_stage(cy, 1, &f1);
	if (go) {
		arg(&a, "sb-analyze");
		go = tool_stage(cy, 2, "analyze", "sb-analyze", &a, f1, &f2);
		args_free(&a);
	}
	if (go) {
		arg(&a, "sb-score");
		snprintf(num, sizeof num, "%ld", cy->set->max);
		arg(&a, "--max");
		arg(&a, num);
		if (cy->component) {
			char *where = sb_asprintf(".component == \"%s\"", cy->component);
			arg(&a, "--where");
			arg(&a, where);
			free(where);
		}
		go = tool_stage(cy, 3, "score", "sb-score", &a, f2, &f3);
		args_free(&a);
	}
	if (go) {
		arg(&a, "sb-gen");
		snprintf(num, sizeof num, "%ld", cy->set->jobs);
		arg(&a, "--jobs");
		arg(&a, num);
		go = tool_stage(cy, 4, "gen", "sb-gen", &a, f3, &f4);
		args_free(&a);
	}
	if (go)
		go = validate_stage(cy, 5, f4, &f5);
	if (go) {
		arg(&a, "sb-deploy");
		if (cy->set->yes)
			arg(&a, "--yes");
		if (cy->set->dry_run)
			arg(&a, "--dry-run");
		go = tool_stage(cy, 6, "deploy", "sb-deploy", &a, f5, &f6);
		args_free(&a);
	}
	/* The last stage's records are the cycle's output. */
	if (go && f6) {
		size_t len;
		char *text = sb_read_file(f6, &len);
		if (text && len && fwrite(text, 1, len, stdout) != len)
			sb_die(SB_EXIT_IO, "cannot write the output:");
		free(text);
	}
	free(f1);
	free(f2);
	free(f3);
	free(f4);
	free(f5);
	free(f6);
	return go;
}

/* The lock of all scheduled cycles, or of one component's emergency cycles; -1 when another cycle holds it. */
static int cycle_lock(const struct sb_common *c, const char *component)
{
	/* In a directory of their own: no component's deployment lock (locks/NAME.lock) can share a name. */
	char *rel = component ? sb_asprintf("locks/cycles/%s.lock", component) : sb_strdup("locks/cycles/all.lock");
	char *path = sb_state_path(c, rel);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		sb_die(SB_EXIT_IO, "cannot open the lock '%s':", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			sb_die(SB_EXIT_IO, "cannot lock '%s':", path);
		close(fd);
		fd = -1;
	}
	free(rel);
	free(path);
	return fd;
}

static int run_cycle(const struct settings *set, const struct sb_common *c, const char *component, jv trigger)
{
	struct cycle cy = {.set = set, .common = c, .component = component, .trigger = trigger, .status = "running"};
	int lock = cycle_lock(c, component), go;

	if (lock < 0) {
		if (!c->quiet)
			sb_warn("another cycle%s%s is running; nothing to do", component ? " of " : "",
				component ? component : "");
		jv_free(trigger);
		return 0;
	}
	cy.start = sb_time_now();
	cycle_id(cy.id, cy.start);
	char *rel = sb_asprintf("cycles/%s/cycle.json", cy.id), *path = sb_state_path(c, rel);
	cy.dir = sb_strdup(path);
	*strrchr(cy.dir, '/') = '\0';
	free(rel);
	free(path);
	sb_selfmetric_add("sb_cycles_total", "outcome=\"started\"", 1, "Improvement cycles by outcome");
	/* Every outcome's series exists from the first cycle on, so rates over them never see a gap. */
	sb_selfmetric_add("sb_cycles_total", "outcome=\"completed\"", 0, "Improvement cycles by outcome");
	sb_selfmetric_add("sb_cycles_total", "outcome=\"failed\"", 0, "Improvement cycles by outcome");
	write_cycle_json(&cy, 0);
	if (!c->quiet)
		sb_warn("cycle %s%s%s: %s", cy.id, component ? " for " : "", component ? component : "", cy.dir);

	go = stages(&cy);
	struct stage *last = &cy.stages[cy.nstages - 1];
	if (stop_signal) {
		cy.status = "interrupted";
		cy.exit = 128 + stop_signal;
	} else if (!go) {
		cy.status = "failed";
		cy.exit = last->exit;
		sb_warn("stage %s failed with exit status %d: see %s/%d-%s.err", last->name, last->exit, cy.dir,
			cy.nstages, last->name);
	} else {
		cy.status = "completed";
		cy.exit = 0;
	}
	write_cycle_json(&cy, sb_time_now());
	sb_selfmetric_add("sb_cycles_total", go ? "outcome=\"completed\"" : "outcome=\"failed\"", 1,
			  "Improvement cycles by outcome");
	sb_selfmetrics_flush(c);
	for (int i = 0; i < cy.nstages; i++)
		free(cy.stages[i].name);
	free(cy.stages);
	free(cy.dir);
	jv_free(cy.trigger);
	close(lock);
	return cy.exit;
}

/* ---- emergency mode ---- */

struct watch {
	char *component;
	pid_t pid;     /* its running cycle, or 0 */
	jv queued;     /* the event that fired during that cycle, or null */
};

struct emergency {
	const struct settings *set;
	const struct sb_common *common;
	struct watch *w;
	size_t n;
	char **argv0;
};

static struct watch *watch_for(struct emergency *e, const char *component)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->w[i].component, component) == 0)
			return &e->w[i];
	e->w = sb_realloc(e->w, (e->n + 1) * sizeof *e->w);
	e->w[e->n] = (struct watch){.component = sb_strdup(component), .queued = jv_null()};
	return &e->w[e->n++];
}

/* A cycle for one component, in a child process, as a scheduled cycle would run it. */
static void start_cycle(struct emergency *e, struct watch *w, jv event)
{
	char ts[SB_TIME_BUFSZ];
	jv trigger = jv_object_set(jv_object(), jv_string("event"), event);
	pid_t pid;

	trigger = jv_object_set(trigger, jv_string("started"), jv_string(sb_time_format(sb_time_now(), ts)));
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		sb_warn("cannot start a cycle for %s:", w->component);
		jv_free(trigger);
		return;
	}
	if (pid == 0) {
		stop_signal = 0;
		int rc = run_cycle(e->set, e->common, w->component, trigger);
		fflush(stdout); /* _exit would drop the deployment records still in the buffer */
		_exit(rc);
	}
	jv_free(trigger);
	w->pid = pid;
	if (!e->common->quiet)
		sb_warn("alarm for %s: cycle started (pid %ld)", w->component, (long)pid);
}

/* An alarm that just went to ALARM, for a component the configuration knows: its name, else NULL. */
static char *alarm_component(struct emergency *e, jv rec)
{
	char *type = sb_rec_string(rec, "type"), *event = sb_rec_string(rec, "event"), *state = sb_rec_string(rec, "state"),
	     *prev = sb_rec_string(rec, "previous"), *comp = sb_rec_string(rec, "component");
	int fires = type && strcmp(type, "event") == 0 && event && strcmp(event, "alarm") == 0 && state &&
		    strcmp(state, "ALARM") == 0 && !(prev && strcmp(prev, "ALARM") == 0);
	jv known = comp ? sb_config_get(e->common->config, "components") : jv_null();

	if (fires && (!comp || !sb_component_name_ok(comp) || jv_get_kind(known) != JV_KIND_OBJECT ||
		      !jv_object_has(jv_copy(known), jv_string(comp)))) {
		sb_warn("alarm %s names no configured component; ignored", comp ? comp : "(without a component)");
		fires = 0;
	}
	if (fires && e->common->tenant) {
		char *tenant = sb_rec_tenant(rec);
		fires = tenant && strcmp(tenant, e->common->tenant) == 0;
		free(tenant);
	}
	jv_free(known);
	free(type);
	free(event);
	free(state);
	free(prev);
	if (!fires) {
		free(comp);
		return NULL;
	}
	return comp;
}

static void on_alarm(struct emergency *e, jv rec)
{
	char *comp = alarm_component(e, rec);
	struct watch *w;

	if (!comp) {
		jv_free(rec);
		return;
	}
	w = watch_for(e, comp);
	if (!w->pid) {
		start_cycle(e, w, rec);
	} else if (jv_get_kind(w->queued) == JV_KIND_NULL) {
		w->queued = rec; /* once: later alarms during the same cycle add nothing */
	} else {
		if (e->common->verbose)
			sb_warn("alarm for %s: a cycle is running and another is queued; ignored", comp);
		jv_free(rec);
	}
	free(comp);
}

/* Collect finished cycles; start the one queued behind each. Returns how many are still running. */
static size_t reap(struct emergency *e, int block)
{
	size_t running = 0;

	for (size_t i = 0; i < e->n; i++) {
		struct watch *w = &e->w[i];
		int st;
		if (w->pid && waitpid(w->pid, &st, block ? 0 : WNOHANG) == w->pid) {
			w->pid = 0;
			/* After SIGTERM nothing new starts: the queued alarm is dropped with the rest. */
			if (jv_get_kind(w->queued) != JV_KIND_NULL && !stop_signal) {
				jv q = w->queued;
				w->queued = jv_null();
				start_cycle(e, w, q);
			}
		}
		running += w->pid != 0;
	}
	return running;
}

static int emergency(const struct settings *set, const struct sb_common *c)
{
	struct emergency e = {.set = set, .common = c};
	FILE *in = c->nfiles ? fopen(c->files[0], "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;

	if (!in)
		sb_die(SB_EXIT_IO, "cannot open '%s':", c->files[0]);
	setvbuf(in, NULL, _IONBF, 0); /* an alarm must not wait in a buffer */
	for (;;) {
		struct pollfd p = {.fd = fileno(in), .events = POLLIN};
		int r = poll(&p, 1, 100);
		reap(&e, 0);
		if (stop_signal)
			break;
		if (r <= 0)
			continue;
		if (getline(&line, &cap, in) < 0)
			break;
		lineno++;
		jv rec = jv_parse(line);
		if (jv_get_kind(rec) != JV_KIND_OBJECT) {
			sb_warn("%s:%ld: not a JSON object; ignored", c->nfiles ? c->files[0] : "(stdin)", lineno);
			jv_free(rec);
			continue;
		}
		on_alarm(&e, rec);
	}
	/* End of input: let the running and queued cycles finish. */
	for (size_t i = 0; i < e.n; i++)
		if (stop_signal && e.w[i].pid)
			kill(e.w[i].pid, SIGTERM);
	while (reap(&e, 1) > 0)
		;
	for (size_t i = 0; i < e.n; i++) {
		free(e.w[i].component);
		jv_free(e.w[i].queued);
	}
	free(e.w);
	free(line);
	if (in != stdin)
		fclose(in);
	return stop_signal ? 128 + stop_signal : 0;
}

int main(int argc, char **argv)
{
	struct settings set = {.window = 1, .max = 3, .jobs = 1};
	const struct sb_tool_spec spec = {
		.name = "sb-cycle",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Run one improvement cycle: stream, analyze, score, generate, validate and deploy.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	int status;

	sb_progname = "sb-cycle";
	sb_opts_parse(&spec, argc, argv, &common);
	sb_clock(); /* a malformed SB_NOW is a usage error before anything is done */
	/* The stages find the same configuration and state directory. */
	if (common.config_path)
		setenv("SB_CONFIG", common.config_path, 1);
	setenv("SB_STATE_DIR", sb_state_dir(&common), 1);
	catch_signals();
	if (set.dry_run)
		sb_selfmetrics_disable(); /* like every tool's --dry-run: no counters */
	if (set.emergency)
		status = emergency(&set, &common);
	else
		status = run_cycle(&set, &common, set.component, jv_null());
	free(set.sources);
	sb_opts_free(&common);
	return status;
}
