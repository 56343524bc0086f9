/* sb-gen - opportunities in, code and configuration changes out: LLM providers or offline playbooks */
#include "breaker.h"
#include "config.h"
#include "edits.h"
#include "err.h"
#include "filter.h"
#include "fsutil.h"
#include "hash.h"
#include "http.h"
#include "llm.h"
#include "opts.h"
#include "output.h"
#include "playbook.h"
#include "record.h"
#include "selfmetrics.h"
#include "state.h"
#include "strbuf.h"
#include "strmap.h"
#include "timefmt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
	OPT_PASS = 1000, OPT_PROVIDER, OPT_MODEL, OPT_URL, OPT_TEMPERATURE, OPT_MAX_TOKENS, OPT_TOKENS_FIELD,
	OPT_PLAYBOOK, OPT_EXAMPLES, OPT_STANDARDS, OPT_MAX_CONTEXT, OPT_TEMPLATE, OPT_PRINT_PROMPT, OPT_EDIT_FORMAT,
	OPT_COMPONENT, OPT_COMPONENT_TYPE, OPT_REQUIREMENTS, OPT_CONTEXT, OPT_TIMEOUT, OPT_RETRIES,
	OPT_BREAKER_FAILURES, OPT_BREAKER_COOLDOWN, OPT_JOBS,
};

static const struct sb_option options[] = {
	{"pass", 0, NULL, "also forward the opportunity records read", OPT_PASS, NULL, NULL},
	{"provider", 0, "NAME", "openai, anthropic or rules (default: the config's llm.provider, else rules)",
	 OPT_PROVIDER, "SB_GEN_PROVIDER", "llm.provider"},
	{"model", 0, "NAME", "the model to ask", OPT_MODEL, "SB_GEN_MODEL", "llm.model"},
	{"url", 0, "URL", "the API's base URL", OPT_URL, "SB_GEN_URL", "llm.url"},
	{"temperature", 0, "T", "sampling temperature (default: the server's)", OPT_TEMPERATURE, NULL,
	 "llm.temperature"},
	{"max-tokens", 0, "N", "most tokens of an answer (default 4096)", OPT_MAX_TOKENS, NULL, "llm.max_tokens"},
	{"max-tokens-field", 0, "NAME", "max_tokens or max_completion_tokens (default by URL)", OPT_TOKENS_FIELD,
	 NULL, "llm.max_tokens_field"},
	{"playbook", 0, "FILE", "rules provider: the playbook (default: the built-in one)", OPT_PLAYBOOK,
	 "SB_GEN_PLAYBOOK", "gen.playbook"},
	{"examples", 0, "GLOB", "files of the component to show as examples of its code (repeatable)", OPT_EXAMPLES,
	 NULL, NULL},
	{"standards", 0, "FILE", "quality standards for the prompt (default: a short built-in list)", OPT_STANDARDS,
	 NULL, "gen.standards"},
	{"max-context-tokens", 0, "N", "token budget of a prompt (default 12000)", OPT_MAX_CONTEXT, NULL,
	 "gen.max_context_tokens"},
	{"prompt-template", 0, "FILE", "replace the built-in prompt template", OPT_TEMPLATE, NULL,
	 "gen.prompt_template"},
	{"print-prompt", 0, NULL, "write the prompts that would be sent, as prompt records; call nothing",
	 OPT_PRINT_PROMPT, NULL, NULL},
	{"edit-format", 0, "FORMAT", "search-replace, udiff or whole (default search-replace)", OPT_EDIT_FORMAT,
	 NULL, "gen.edit_format"},
	{"component", 0, "NAME", "component generation: the new component's name", OPT_COMPONENT, NULL, NULL},
	{"component-type", 0, "TYPE", "generate a new component of TYPE (needs --requirements)", OPT_COMPONENT_TYPE,
	 NULL, NULL},
	{"requirements", 0, "TEXT", "component generation: what it must do", OPT_REQUIREMENTS, NULL, NULL},
	{"context", 0, "FILE", "component generation: more context for the model", OPT_CONTEXT, NULL, NULL},
	{"timeout", 0, "DURATION", "time allowed for one answer (default 120s)", OPT_TIMEOUT, "SB_GEN_TIMEOUT",
	 "llm.timeout"},
	{"retries", 0, "N", "retries of a request that failed for a passing reason (default 3)", OPT_RETRIES, NULL,
	 "llm.retries"},
	{"breaker-failures", 0, "N", "open the circuit breaker after N failed requests in a row (default 5)",
	 OPT_BREAKER_FAILURES, NULL, "llm.breaker_failures"},
	{"breaker-cooldown", 0, "DURATION", "keep it open this long (default 5m)", OPT_BREAKER_COOLDOWN, NULL,
	 "llm.breaker_cooldown"},
	{"jobs", 'j', "N", "ask about N opportunities at once (default 1)", OPT_JOBS, "SB_GEN_JOBS", "gen.jobs"},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

enum provider { P_OPENAI, P_ANTHROPIC, P_RULES };
static const char *const provider_names[] = {"openai", "anthropic", "rules", NULL};
static const char *const format_names[] = {"search-replace", "udiff", "whole", NULL};

struct settings {
	int pass, print_prompt, provider, provider_set, format;
	const char *model, *url, *tokens_field, *playbook, *standards, *template, *component, *component_type,
		*requirements, *context;
	double temperature, timeout, cooldown;
	long max_tokens, max_context, retries, breaker_failures, jobs;
	char **examples;
	int nexamples;
};

static int set_option(void *ctx, int id, const char *arg)
{
	struct settings *s = ctx;

	switch (id) {
	case OPT_PASS: s->pass = 1; return 0;
	case OPT_PRINT_PROMPT: s->print_prompt = 1; return 0;
	case OPT_PROVIDER:
		s->provider_set = 1;
		return (s->provider = sb_opt_choice("provider", arg, provider_names)) < 0 ? -1 : 0;
	case OPT_EDIT_FORMAT: return (s->format = sb_opt_choice("edit-format", arg, format_names)) < 0 ? -1 : 0;
	case OPT_MODEL: s->model = arg; return 0;
	case OPT_URL: s->url = arg; return 0;
	case OPT_TOKENS_FIELD:
		if (strcmp(arg, "max_tokens") != 0 && strcmp(arg, "max_completion_tokens") != 0) {
			sb_warn("--max-tokens-field: '%s' is neither max_tokens nor max_completion_tokens", arg);
			return -1;
		}
		s->tokens_field = arg;
		return 0;
	case OPT_PLAYBOOK: s->playbook = arg; return 0;
	case OPT_STANDARDS: s->standards = arg; return 0;
	case OPT_TEMPLATE: s->template = arg; return 0;
	case OPT_COMPONENT: s->component = arg; return 0;
	case OPT_COMPONENT_TYPE: s->component_type = arg; return 0;
	case OPT_REQUIREMENTS: s->requirements = arg; return 0;
	case OPT_CONTEXT: s->context = arg; return 0;
	case OPT_EXAMPLES:
		s->examples = sb_realloc(s->examples, (size_t)(s->nexamples + 1) * sizeof *s->examples);
		s->examples[s->nexamples++] = (char *)arg;
		return 0;
	case OPT_TEMPERATURE: return sb_opt_double("temperature", arg, 0, &s->temperature);
	case OPT_TIMEOUT: return sb_opt_duration("timeout", arg, &s->timeout);
	case OPT_BREAKER_COOLDOWN: return sb_opt_duration("breaker-cooldown", arg, &s->cooldown);
	case OPT_MAX_TOKENS: return sb_opt_long("max-tokens", arg, 1, 10000000, &s->max_tokens);
	case OPT_MAX_CONTEXT: return sb_opt_long("max-context-tokens", arg, 100, 100000000, &s->max_context);
	case OPT_RETRIES: return sb_opt_long("retries", arg, 0, 100, &s->retries);
	case OPT_BREAKER_FAILURES: return sb_opt_long("breaker-failures", arg, 1, 1000000, &s->breaker_failures);
	case OPT_JOBS: return sb_opt_long("jobs", arg, 1, 64, &s->jobs);
	}
	return -1;
}

/* ---- what one run holds ---- */

/* One opportunity on its way to a change. */
struct job {
	jv opp, insights;     /* the opportunity and the insights it names (those seen in the input) */
	char *id, *component, *tenant, *root;
	char *system;
	jv messages;          /* the conversation so far */
	int attempts, transient, reasked; /* requests sent; of them, failed for a passing reason */
	double ready_at, started;
	long prompt_tokens, completion_tokens;
	enum { J_PENDING, J_FLIGHT, J_DONE } state;
	jv change;            /* the result, or invalid */
	int failure;          /* 0, SB_EXIT_NEGATIVE (edits never applied) or SB_EXIT_REMOTE */
	struct sb_llm_request req;
};

struct gen {
	struct settings *set;
	const struct sb_common *common;
	jv components;        /* the configuration's components */
	sb_strmap *insights;  /* id -> jv * (insight records seen) */
	jv **insight_vals;    /* the same, to free them */
	size_t ninsights;
	struct job **jobs;
	size_t njobs, capjobs, emitted;
	struct sb_llm llm;
	char *key;
	sb_playbook *playbook;
	struct sb_breaker breaker;
	int breaker_loaded, breaker_warned;
	int status;
};

static void free_job(struct job *j)
{
	jv_free(j->opp);
	jv_free(j->insights);
	jv_free(j->messages);
	jv_free(j->change);
	free(j->id);
	free(j->component);
	free(j->tenant);
	free(j->root);
	free(j->system);
	sb_llm_request_free(&j->req);
	free(j);
}

/* components.NAME.KEY as a string, or NULL. */
static char *component_string(const struct gen *g, const char *component, const char *key)
{
	jv c = sb_rec_get(g->components, component);
	char *v = sb_rec_string(c, key);

	jv_free(c);
	return v;
}

/* ---- reading ---- */

static int remember_insight(struct gen *g, jv rec, struct sb_input *in)
{
	char *id = sb_rec_string(rec, "id");

	if (id) {
		jv *old = sb_strmap_get(g->insights, id, strlen(id));
		if (old) {
			jv_free(*old);
		} else {
			old = sb_malloc(sizeof *old);
			g->insight_vals = sb_realloc(g->insight_vals, (g->ninsights + 1) * sizeof *g->insight_vals);
			g->insight_vals[g->ninsights++] = old;
		}
		*old = jv_copy(rec);
		sb_strmap_put(g->insights, id, strlen(id), old);
		free(id);
	}
	jv_free(rec);
	/* Insights are for later stages too: forwarded as they are. */
	if (!g->set->pass)
		sb_output_raw(in->line, in->len);
	return 0;
}

/* The insight records an opportunity names, those that were in the input. */
static jv insights_of(struct gen *g, jv opp)
{
	jv ids = sb_rec_get(opp, "insights"), out = jv_array();
	int n = jv_get_kind(ids) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ids)) : 0;

	for (int i = 0; i < n; i++) {
		jv id = jv_array_get(jv_copy(ids), i);
		jv *rec = jv_get_kind(id) == JV_KIND_STRING
			? sb_strmap_get(g->insights, jv_string_value(id), (size_t)jv_string_length_bytes(jv_copy(id)))
			: NULL;
		if (rec)
			out = jv_array_append(out, jv_copy(*rec));
		jv_free(id);
	}
	jv_free(ids);
	return out;
}

static int read_record(void *ctx, jv rec, struct sb_input *in)
{
	struct gen *g = ctx;
	char *type = sb_rec_string(rec, "type");
	int insight = type && strcmp(type, "insight") == 0;

	free(type);
	if (insight)
		return remember_insight(g, rec, in);
	struct job *j = sb_calloc(1, sizeof *j);
	j->id = sb_rec_string(rec, "id");
	j->component = sb_rec_string(rec, "component");
	if (!j->id || !j->component) {
		sb_input_reject(in, "opportunity has no \"%s\" string", j->id ? "component" : "id");
		jv_free(rec);
		free(j->id);
		free(j->component);
		free(j);
		return -1;
	}
	j->tenant = sb_rec_string(rec, "tenant");
	j->opp = rec;
	j->insights = insights_of(g, rec);
	j->messages = jv_array();
	j->change = jv_invalid();
	if (g->njobs == g->capjobs)
		g->jobs = sb_realloc(g->jobs, (g->capjobs = g->capjobs ? 2 * g->capjobs : 16) * sizeof *g->jobs);
	g->jobs[g->njobs++] = j;
	return 0;
}

/* ---- change records ---- */

static jv file_record(const struct sb_file_change *f)
{
	jv o = jv_object_set(jv_object(), jv_string("path"), jv_string(f->path));

	o = jv_object_set(o, jv_string("action"), jv_string(f->action));
	if (f->content)
		o = jv_object_set(o, jv_string("content"), jv_string(f->content));
	o = jv_object_set(o, jv_string("diff"), jv_string(f->diff ? f->diff : ""));
	if (f->base_sha256[0])
		o = jv_object_set(o, jv_string("base_sha256"), jv_string(f->base_sha256));
	return o;
}

/* Content-derived: the opportunity, provider, model and every file's path, action and new content. */
static void change_id(const char *opp, const char *provider, const char *model, jv files, char id[SB_ID_LEN + 1])
{
	jv text = jv_dump_string(jv_copy(files), JV_PRINT_SORTED);
	char hex[SB_SHA256_HEX];

	sb_sha256_hex(jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), hex);
	sb_content_id(id, "change", opp ? opp : "", provider, model ? model : "", hex, NULL);
	jv_free(text);
}

static jv change_record(const struct gen *g, const struct job *j, const char *model, const struct sb_change_set *cs,
			const char *rationale, int attempts)
{
	const char *provider = provider_names[g->set->provider];
	char id[SB_ID_LEN + 1];
	jv files = jv_array(), o;

	for (size_t i = 0; i < cs->n; i++)
		files = jv_array_append(files, file_record(&cs->files[i]));
	change_id(j->id, provider, model, files, id);
	o = jv_object_set(jv_object(), jv_string("type"), jv_string("change"));
	o = jv_object_set(o, jv_string("id"), jv_string(id));
	o = jv_object_set(o, jv_string("opportunity"), j->id ? jv_string(j->id) : jv_null());
	if (j->tenant)
		o = jv_object_set(o, jv_string("tenant"), jv_string(j->tenant));
	o = jv_object_set(o, jv_string("component"), jv_string(j->component));
	/* The approval gate travels with the change: sb-deploy asks for approval of system-scope changes. */
	jv scope = sb_rec_get(j->opp, "scope"), approval = sb_rec_get(j->opp, "requires_approval");
	if (jv_get_kind(scope) == JV_KIND_STRING)
		o = jv_object_set(o, jv_string("scope"), scope);
	else
		jv_free(scope);
	o = jv_object_set(o, jv_string("requires_approval"), jv_bool(jv_get_kind(approval) == JV_KIND_TRUE));
	jv_free(approval);
	o = jv_object_set(o, jv_string("provider"), jv_string(provider));
	o = jv_object_set(o, jv_string("model"), jv_string(model ? model : ""));
	o = jv_object_set(o, jv_string("files"), files);
	o = jv_object_set(o, jv_string("rationale"), jv_string(rationale ? rationale : ""));
	jv usage = jv_object_set(jv_object(), jv_string("prompt_tokens"), jv_number((double)j->prompt_tokens));
	usage = jv_object_set(usage, jv_string("completion_tokens"), jv_number((double)j->completion_tokens));
	usage = jv_object_set(usage, jv_string("duration_ms"),
			      jv_number(round((sb_time_now() - j->started) * 1000)));
	usage = jv_object_set(usage, jv_string("attempts"), jv_number(attempts));
	return jv_object_set(o, jv_string("usage"), usage);
}

/* The provider's counters; adding zeros makes the series exist from the first run. */
static void count_generation(const struct gen *g, double requests, double successes, double seconds, long prompt,
			     long completion)
{
	const char *provider = provider_names[g->set->provider];
	char labels[96];

	snprintf(labels, sizeof labels, "provider=\"%s\"", provider);
	sb_selfmetric_add("sb_generation_requests_total", labels, requests,
			  "Requests sb-gen sent to a provider: each attempt for a language model, one a job for rules.");
	sb_selfmetric_add("sb_generation_successes_total", labels, successes, "Changes sb-gen generated.");
	sb_selfmetric_add("sb_generation_duration_seconds_total", labels, seconds,
			  "Seconds sb-gen spent on jobs, from a job's first request to its change or failure.");
	snprintf(labels, sizeof labels, "kind=\"prompt\",provider=\"%s\"", provider);
	sb_selfmetric_add("sb_generation_tokens_total", labels, (double)prompt,
			  "Tokens the language model reported, by prompt and completion.");
	snprintf(labels, sizeof labels, "kind=\"completion\",provider=\"%s\"", provider);
	sb_selfmetric_add("sb_generation_tokens_total", labels, (double)completion,
			  "Tokens the language model reported, by prompt and completion.");
}

/*
 * A finished job's requests, tokens and time. A language model is sent a
 * request per attempt (retries and a second ask included); the rules
 * provider is asked once per job that reached its playbook. The time is
 * the change's usage.duration_ms, or up to now for a job that failed.
 */
static void count_job(const struct gen *g, const struct job *j)
{
	double seconds = j->started > 0 ? sb_time_now() - j->started : 0, ms;

	if (jv_is_valid(j->change)) {
		jv usage = sb_rec_get(j->change, "usage");
		if (sb_rec_number(usage, "duration_ms", &ms))
			seconds = ms / 1000;
		jv_free(usage);
	}
	count_generation(g, g->set->provider == P_RULES ? j->started > 0 : j->attempts, jv_is_valid(j->change),
			 seconds > 0 ? seconds : 0, j->prompt_tokens, j->completion_tokens);
}

/* Write the finished jobs at the head of the queue: output keeps the input's order. */
static void emit_ready(struct gen *g)
{
	while (g->emitted < g->njobs && g->jobs[g->emitted]->state == J_DONE) {
		struct job *j = g->jobs[g->emitted++];
		count_job(g, j);
		if (jv_is_valid(j->change)) {
			sb_output_record(j->change);
			j->change = jv_invalid();
		}
		if (j->failure > g->status)
			g->status = j->failure;
	}
}

/* ---- the rules provider ---- */

static void run_rules(struct gen *g, struct job *j)
{
	struct sb_playbook_result r;
	struct sb_change_set cs = {0};
	struct sb_file_change fc;
	char err[512];
	int rc;

	j->started = sb_time_now();
	j->state = J_DONE;
	if (!j->root) {
		if (g->common->verbose)
			sb_warn("opportunity %s: component %s has no path in the configuration", j->id, j->component);
		return;
	}
	rc = sb_playbook_apply(g->playbook, j->opp, j->insights, j->root, &r, err, sizeof err);
	if (rc == 0 && g->common->verbose)
		sb_warn("opportunity %s: no change: %s", j->id, err);
	if (rc < 0) {
		sb_warn("opportunity %s: %s", j->id, err);
		j->failure = SB_EXIT_NEGATIVE;
	}
	if (rc <= 0)
		return;
	if (sb_file_change_for(j->root, r.file, r.content, &fc, err, sizeof err) < 0) {
		sb_warn("opportunity %s: %s", j->id, err);
		j->failure = SB_EXIT_NEGATIVE;
	} else {
		cs.files = sb_malloc(sizeof *cs.files);
		cs.files[0] = fc;
		cs.n = 1;
		j->change = change_record(g, j, r.rule, &cs, r.rationale, 1);
		sb_change_set_free(&cs);
	}
	sb_playbook_result_free(&r);
}

/* ---- prompts ---- */

static const char default_template[] =
	"You are improving the component \"{{component}}\" ({{language}}).\n\n"
	"# Goal\n{{goal}}\n\n"
	"# Evidence from production\n{{evidence}}\n\n"
	"# Overview of the component\n{{overview}}\n\n"
	"# Relevant files\n{{files}}\n\n"
	"# Examples of existing code\n{{examples}}\n\n"
	"# Quality standards\n{{standards}}\n\n"
	"# How to answer\n{{format}}\n\n"
	"{{left_out}}";

static const char system_prompt[] =
	"You are a careful senior engineer. You make the smallest safe change to production code or "
	"configuration that reaches the goal, in the style of the code around it. Begin with one short "
	"paragraph saying what you change and why, then give the edits exactly in the format asked for.";

static const char generation_standards[] =
	"- Small, readable modules; explicit error handling; no secrets in code.\n"
	"- Bound every timeout, retry and size; validate every input.\n"
	"- Include a README and tests for the main paths.";

static const char default_standards[] =
	"- Change only what the goal needs; keep the existing style, names and structure.\n"
	"- Keep behaviour backwards compatible; no new dependencies.\n"
	"- Bound every new timeout, retry and size; handle errors explicitly.\n"
	"- Never weaken security, tenant isolation or input validation.";


/* Files of the component worth showing: relative paths, text files only, a bounded walk. */
struct file_list {
	char **paths;
	size_t n, cap;
};

static void walk(const char *root, const char *rel, struct file_list *out, int depth)
{
	char *dir = *rel ? sb_asprintf("%s/%s", root, rel) : sb_strdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;

	free(dir);
	if (!d || depth > 8)
		goto done;
	while ((e = readdir(d)) && out->n < 5000) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "node_modules") == 0)
			continue;
		char *r = *rel ? sb_asprintf("%s/%s", rel, e->d_name) : sb_strdup(e->d_name);
		char *full = sb_asprintf("%s/%s", root, r);
		struct stat st;
		int ok = lstat(full, &st) == 0;
		if (ok && S_ISDIR(st.st_mode)) {
			walk(root, r, out, depth + 1);
			free(r);
		} else if (ok && S_ISREG(st.st_mode) && st.st_size < 256 * 1024) {
			if (out->n == out->cap)
				out->paths = sb_realloc(out->paths, (out->cap = out->cap ? 2 * out->cap : 64) * sizeof *out->paths);
			out->paths[out->n++] = r;
		} else {
			free(r);
		}
		free(full);
	}
done:
	if (d)
		closedir(d);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

/* A file's text for the prompt, or NULL when it is unreadable or binary. */
static char *file_text(const char *root, const char *rel)
{
	char *full = sb_asprintf("%s/%s", root, rel);
	size_t len;
	char *s = sb_read_file(full, &len);

	free(full);
	if (s && memchr(s, '\0', len)) {
		free(s);
		return NULL;
	}
	return s;
}

/* The file a stack frame ("/app/src/pay.py:42 in charge") names, as a path of the component, or NULL. */
static const char *file_of_frame(const struct file_list *files, const char *frame)
{
	size_t n = strcspn(frame, ":");
	const char *best = NULL;

	for (size_t i = 0; i < files->n; i++) {
		size_t m = strlen(files->paths[i]);
		/* The frame's path ends with the component's path, at a directory boundary. */
		if (m <= n && strncmp(frame + n - m, files->paths[i], m) == 0 && (m == n || frame[n - m - 1] == '/') &&
		    (!best || m > strlen(best)))
			best = files->paths[i];
	}
	return best;
}

/* Words of the opportunity that may name files: of its metric, pattern and component (not the title's kinds). */
static int name_matches(const char *path, jv opp)
{
	static const char *const keys[] = {"metric", "pattern", "component"};
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int hit = 0;

	for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !hit; k++) {
		char *v = sb_rec_string(opp, keys[k]);
		for (char *w = v ? strtok(v, " _-.:/<>*\"'()") : NULL; w && !hit; w = strtok(NULL, " _-.:/<>*\"'()"))
			hit = strlen(w) >= 4 && strcasestr(base, w) != NULL;
		free(v);
	}
	return hit;
}

/* What goes into a prompt, section by section, within a budget of bytes (four to a token). */
struct prompt_parts {
	struct sb_buf files, examples, left_out;
	size_t budget;
	sb_strmap *shown;
};

/* Add a file as a fenced block when it fits the budget; note it as left out otherwise. */
static void offer_file(struct prompt_parts *p, struct sb_buf *section, const char *root, const char *rel,
		       const char *why)
{
	char *body;

	if (sb_strmap_get(p->shown, rel, strlen(rel)) || !(body = file_text(root, rel)))
		return;
	sb_strmap_put(p->shown, rel, strlen(rel), (void *)rel);
	size_t need = strlen(body) + strlen(rel) + 16;
	if (need > p->budget) {
		sb_buf_addf(&p->left_out, "- %s (%s, about %zu tokens)\n", rel, why, need / 4);
	} else {
		p->budget -= need;
		sb_buf_addf(section, "%s\n```\n%s%s```\n\n", rel, body, body[0] && body[strlen(body) - 1] != '\n' ? "\n" : "");
	}
	free(body);
}

static void add_frame_files(struct prompt_parts *p, const struct job *j, const struct file_list *files)
{
	int n = jv_array_length(jv_copy(j->insights));

	for (int i = 0; i < n; i++) {
		jv ins = jv_array_get(jv_copy(j->insights), i);
		jv ev = sb_rec_get(ins, "evidence");
		char *frame = sb_rec_string(ev, "stack_frame");
		const char *rel = frame ? file_of_frame(files, frame) : NULL;
		if (rel)
			offer_file(p, &p->files, j->root, rel, "named in a stack frame");
		free(frame);
		jv_free(ev);
		jv_free(ins);
	}
}

static void add_examples(struct prompt_parts *p, const struct gen *g, const struct job *j)
{
	for (int i = 0; i < g->set->nexamples; i++) {
		char *pattern = sb_asprintf("%s/%s", j->root, g->set->examples[i]);
		glob_t gl;
		if (glob(pattern, 0, NULL, &gl) == 0) {
			size_t skip = strlen(j->root) + 1;
			for (size_t k = 0; k < gl.gl_pathc; k++)
				if (strlen(gl.gl_pathv[k]) > skip && sb_path_safe(gl.gl_pathv[k] + skip))
					offer_file(p, &p->examples, j->root, gl.gl_pathv[k] + skip, "example");
			globfree(&gl);
		}
		free(pattern);
	}
}

/* The goal: what the opportunity says, and the evidence of its insights. */
static char *goal_of(const struct job *j)
{
	char *title = sb_rec_string(j->opp, "title"), *summary = sb_rec_string(j->opp, "summary");
	char *goal = sb_asprintf("%s%s%s", title ? title : "Improve the component", summary ? ". " : "",
				 summary ? summary : "");

	free(title);
	free(summary);
	return goal;
}

static char *evidence_of(const struct job *j)
{
	jv list = jv_array();
	int n = jv_array_length(jv_copy(j->insights));

	for (int i = 0; i < n; i++) {
		jv ins = jv_array_get(jv_copy(j->insights), i);
		jv keep = jv_object();
		static const char *const keys[] = {"kind", "metric", "pattern", "severity", "summary", "evidence"};
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			jv v = sb_rec_get(ins, keys[k]);
			if (jv_get_kind(v) != JV_KIND_NULL)
				keep = jv_object_set(keep, jv_string(keys[k]), v);
			else
				jv_free(v);
		}
		list = jv_array_append(list, keep);
		jv_free(ins);
	}
	if (n == 0) { /* the opportunity alone, when its insights were not in the input */
		jv_free(list);
		list = jv_copy(j->opp);
	}
	jv text = jv_dump_string(list, JV_PRINT_PRETTY | JV_PRINT_SPACE1);
	char *s = sb_strdup(jv_string_value(text));
	jv_free(text);
	return s;
}

/* Replace each {{name}} of the template by its value. */
static char *fill(const char *tmpl, const char *const names[], char *const values[], int n)
{
	struct sb_buf out = {0};

	sb_buf_add(&out, "", 0);
	for (const char *p = tmpl; *p;) {
		const char *open = strstr(p, "{{");
		if (!open) {
			sb_buf_add(&out, p, strlen(p));
			break;
		}
		sb_buf_add(&out, p, (size_t)(open - p));
		const char *close = strstr(open, "}}");
		int i = 0;
		for (; close && i < n; i++)
			if (strlen(names[i]) == (size_t)(close - open - 2) && strncmp(open + 2, names[i], strlen(names[i])) == 0)
				break;
		if (!close || i == n) { /* not a placeholder: kept as it is */
			sb_buf_add(&out, open, 2);
			p = open + 2;
			continue;
		}
		sb_buf_add(&out, values[i], strlen(values[i]));
		p = close + 2;
	}
	return out.p;
}

static char *read_or_die(const char *path, const char *what)
{
	size_t len;
	char *s = sb_read_file(path, &len);

	if (!s)
		sb_die(SB_EXIT_USAGE, "%s '%s': %s", what, path, strerror(errno));
	return s;
}

/* The user prompt of a job: the template filled within the token budget. */
static char *build_prompt(const struct gen *g, const struct job *j)
{
	static const char *const names[] = {"component", "language", "goal", "evidence", "overview",
					    "files", "examples", "standards", "format", "left_out"};
	struct prompt_parts p = {.shown = sb_strmap_new()};
	struct file_list files = {0};
	char *tmpl = g->set->template ? read_or_die(g->set->template, "--prompt-template") : sb_strdup(default_template);
	char *standards = g->set->standards ? read_or_die(g->set->standards, "--standards") : sb_strdup(default_standards);
	char *language = component_string(g, j->component, "language");
	char *overview_file = component_string(g, j->component, "overview");
	char *goal = goal_of(j), *evidence = evidence_of(j), *overview = NULL;
	size_t fixed = strlen(tmpl) + strlen(standards) + strlen(goal) + strlen(evidence) + strlen(system_prompt) +
		       strlen(sb_edit_format_prompt((enum sb_edit_format)g->set->format)) + 256;

	p.budget = (size_t)g->set->max_context * 4 > fixed ? (size_t)g->set->max_context * 4 - fixed : 0;
	sb_buf_add(&p.files, "", 0);
	sb_buf_add(&p.examples, "", 0);
	sb_buf_add(&p.left_out, "", 0);
	if (overview_file) {
		sb_strmap_put(p.shown, overview_file, strlen(overview_file), overview_file);
		overview = file_text(j->root, overview_file);
		if (overview && strlen(overview) > p.budget) {
			sb_buf_addf(&p.left_out, "- %s (the overview, about %zu tokens)\n", overview_file, strlen(overview) / 4);
			free(overview);
			overview = NULL;
		} else if (overview) {
			p.budget -= strlen(overview);
		}
	}
	walk(j->root, "", &files, 0);
	if (files.n)
		qsort(files.paths, files.n, sizeof *files.paths, by_path);
	add_frame_files(&p, j, &files);
	for (size_t i = 0; i < files.n; i++)
		if (name_matches(files.paths[i], j->opp))
			offer_file(&p, &p.files, j->root, files.paths[i], "its name matches");
	add_examples(&p, g, j);
	char *left = p.left_out.n ? sb_asprintf("Left out for lack of room:\n%s", p.left_out.p)
				    : sb_strdup("");
	char *values[] = {j->component, language ? language : "language not stated", goal, evidence,
			  overview ? overview : "(none)", p.files.n ? p.files.p : "(none found)",
			  p.examples.n ? p.examples.p : "(none)", standards, (char *)sb_edit_format_prompt((enum sb_edit_format)g->set->format), left};
	char *prompt = fill(tmpl, names, values, (int)(sizeof names / sizeof names[0]));

	free(left);
	free(tmpl);
	free(standards);
	free(language);
	free(overview_file);
	free(overview);
	free(goal);
	free(evidence);
	free(p.files.p);
	free(p.examples.p);
	free(p.left_out.p);
	free_list(&files);
	sb_strmap_free(p.shown);
	return prompt;
}

/* ---- the LLM providers ---- */

static jv message(const char *role, const char *content)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("role"), jv_string(role)), jv_string("content"),
			     jv_string(content));
}

/* The answer's opening prose, before its first edit: the change's rationale. */
static char *rationale_of(const char *answer)
{
	struct sb_buf t = {0};

	sb_buf_add(&t, "", 0);
	for (const char *line = answer; *line;) {
		size_t n = strcspn(line, "\n");
		if (strncmp(line, "```", 3) == 0 || strncmp(line, "~~~", 3) == 0 || strncmp(line, "<<<<<<<", 7) == 0 ||
		    strncmp(line, "--- ", 4) == 0 || t.n > 2000)
			break;
		/* A path alone on a line starts the edits too. */
		if (n > 0 && !memchr(line, ' ', n) && (memchr(line, '/', n) || memchr(line, '.', n)) && line[n - 1] != '.')
			break;
		sb_buf_add(&t, line, n);
		sb_buf_add(&t, "\n", 1);
		line += n + (line[n] == '\n');
	}
	while (t.n > 0 && (t.p[t.n - 1] == '\n' || t.p[t.n - 1] == ' '))
		t.p[--t.n] = '\0';
	return t.p;
}

/* Exponential backoff with full jitter (1 s doubling, at most 30 s), or the server's wish, at most 60 s. */
static double backoff(int attempt, double retry_after)
{
	if (retry_after >= 0)
		return fmin(retry_after, 60);
	return fmin(30, pow(2, attempt)) * ((double)rand() / RAND_MAX);
}

static void finish_failed(struct gen *g, struct job *j, int failure, const char *why)
{
	sb_warn("opportunity %s: %s", j->id ? j->id : j->component, why);
	j->failure = failure;
	j->state = J_DONE;
	(void)g;
}

/* One breaker per provider and server (breakers/llm-openai-127.0.0.1_11434.json): a local server's failures do not stop the others. */
static char *breaker_name(const struct gen *g)
{
	const char *host = strstr(g->llm.url, "://");
	char *name;

	host = host ? host + 3 : g->llm.url;
	name = sb_asprintf("breakers/llm-%s-%.*s.json", provider_names[g->set->provider], (int)strcspn(host, "/?#"), host);
	for (char *p = name + strlen("breakers/"); *p && strcmp(p, ".json") != 0; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			*p = '_';
	return name;
}

/* The breaker, loaded once: may a request be sent now? */
static int breaker_allows(struct gen *g)
{
	if (!g->breaker_loaded) {
		char *rel = breaker_name(g);
		char *path = sb_state_path(g->common, rel);
		sb_breaker_load(&g->breaker, path, (int)g->set->breaker_failures, g->set->cooldown);
		free(rel);
		free(path);
		g->breaker_loaded = 1;
	}
	return sb_breaker_allow(&g->breaker, sb_time_now());
}

static void breaker_note(struct gen *g, int ok)
{
	if (g->breaker_loaded && sb_breaker_record(&g->breaker, ok, sb_time_now()) < 0)
		sb_warn("cannot write breaker '%s': %s", g->breaker.path, strerror(errno));
}

static int start_job(struct gen *g, struct job *j, sb_http_multi *m)
{
	char err[512];

	if (!breaker_allows(g)) {
		char until[SB_TIME_BUFSZ];
		if (!g->breaker_warned++)
			sb_warn("%s: circuit breaker open until %s; no request sent", provider_names[g->set->provider],
				sb_time_format(g->breaker.open_until, until));
		j->failure = SB_EXIT_REMOTE;
		j->state = J_DONE;
		return 0;
	}
	sb_llm_request_free(&j->req);
	sb_llm_request_build(&g->llm, j->system, j->messages, &j->req);
	if (j->attempts++ == 0)
		j->started = sb_time_now(); /* the time asked, not the time queued behind --jobs */
	if (g->common->verbose)
		sb_warn("opportunity %s: asking %s (%s), attempt %d", j->id ? j->id : j->component, g->llm.model,
			provider_names[g->set->provider], j->attempts);
	if (sb_http_multi_add(m, &j->req.http, j, err, sizeof err) < 0) {
		finish_failed(g, j, SB_EXIT_REMOTE, err);
		return 0;
	}
	j->state = J_FLIGHT;
	return 1;
}

/* An answer arrived: apply its edits; ask once more, quoting the error, when they do not apply. */
static void take_answer(struct gen *g, struct job *j, struct sb_llm_answer *a)
{
	struct sb_change_set cs = {0};
	char err[512];

	j->prompt_tokens += a->prompt_tokens;
	j->completion_tokens += a->completion_tokens;
	if (sb_edits_apply(a->text, strlen(a->text), (enum sb_edit_format)g->set->format, j->root, &cs, err,
			   sizeof err) == 0) {
		char *why = rationale_of(a->text);
		j->change = change_record(g, j, g->llm.model, &cs, why, j->attempts);
		free(why);
		sb_change_set_free(&cs);
		j->state = J_DONE;
		return;
	}
	if (j->reasked) {
		char *why = sb_asprintf("edits do not apply after asking again: %s", err);
		finish_failed(g, j, SB_EXIT_NEGATIVE, why);
		free(why);
		return;
	}
	if (g->common->verbose)
		sb_warn("opportunity %s: edits do not apply (%s): asking again", j->id ? j->id : j->component, err);
	j->reasked = 1;
	j->messages = jv_array_append(j->messages, message("assistant", a->text));
	char *again = sb_asprintf("Your edits could not be applied: %s\nSend the corrected edits again, in the same "
				  "format, with any text to find copied exactly from the file.", err);
	j->messages = jv_array_append(j->messages, message("user", again));
	free(again);
	j->state = J_PENDING;
	j->ready_at = 0;
}

static void take_result(struct gen *g, struct job *j, int rc, struct sb_http_response *r, const char *neterr)
{
	struct sb_llm_answer a;
	enum sb_llm_outcome o = SB_LLM_RETRY;
	char err[512];

	snprintf(err, sizeof err, "%s", neterr);
	if (rc == 0) {
		o = sb_llm_read(&g->llm, r, &a, err, sizeof err);
		sb_http_response_free(r);
	}
	if (o == SB_LLM_OK) {
		breaker_note(g, 1);
		take_answer(g, j, &a);
		free(a.text);
		return;
	}
	if (o == SB_LLM_RETRY && j->transient++ < g->set->retries) {
		double wait = backoff(j->transient - 1, rc == 0 ? r->retry_after : -1);
		if (g->common->verbose)
			sb_warn("opportunity %s: %s: again in %.1fs", j->id ? j->id : j->component, err, wait);
		j->state = J_PENDING;
		j->ready_at = sb_time_now() + wait;
		return;
	}
	breaker_note(g, 0);
	char *why = sb_asprintf("%s %s: %s", provider_names[g->set->provider], g->llm.url, err);
	finish_failed(g, j, SB_EXIT_REMOTE, why);
	free(why);
}

/* Start what is ready, up to --jobs at once; else wait for an answer or the next retry. */
static void run_llm(struct gen *g)
{
	sb_http_multi *m = sb_http_multi_new();

	if (!m)
		sb_die(SB_EXIT_IO, "cannot initialise libcurl");
	for (;;) {
		double now = sb_time_now(), soonest = INFINITY;
		int pending = 0;
		for (size_t i = g->emitted; i < g->njobs; i++) {
			struct job *j = g->jobs[i];
			if (j->state != J_PENDING)
				continue;
			if (j->ready_at <= now && sb_http_multi_running(m) < (size_t)g->set->jobs)
				start_job(g, j, m);
			if (j->state == J_PENDING) {
				pending = 1;
				soonest = fmin(soonest, j->ready_at);
			}
		}
		emit_ready(g);
		if (!sb_http_multi_running(m)) {
			if (!pending)
				break;
			double wait = soonest - sb_time_now();
			if (wait > 0)
				nanosleep(&(struct timespec){(time_t)wait, (long)((wait - floor(wait)) * 1e9)}, NULL);
			continue;
		}
		void *tag;
		int rc;
		struct sb_http_response r;
		char err[512] = "";
		if (sb_http_multi_next(m, &tag, &rc, &r, err, sizeof err) < 0)
			sb_die(SB_EXIT_IO, "%s", err);
		take_result(g, tag, rc, &r, err);
		emit_ready(g);
	}
	sb_http_multi_free(m);
}

/* ---- component generation ---- */

static const char generation_template[] =
	"Create a new component named \"%s\" of type %s.\n\n# Requirements\n%s\n\n%s%s%s"
	"# Quality standards\n%s\n\n# How to answer\n%s\n";

/* The job of --component-type: a change that creates the component's files. */
static struct job *generation_job(struct gen *g)
{
	const struct settings *s = g->set;
	struct job *j = sb_calloc(1, sizeof *j);
	jv features = sb_config_get(g->common->config, "features.component_generation");
	char *context = s->context ? read_or_die(s->context, "--context") : NULL;
	char *standards = s->standards ? read_or_die(s->standards, "--standards") : sb_strdup(generation_standards);

	if (jv_get_kind(features) != JV_KIND_TRUE)
		sb_die(SB_EXIT_USAGE, "component generation is off: set features.component_generation to true in the "
				      "configuration");
	jv_free(features);
	if (!s->component || !s->requirements)
		sb_usage_error("--component-type needs --component NAME and --requirements TEXT");
	if (g->common->nfiles)
		sb_usage_error("--component-type reads no input: no FILE operands");
	if (g->set->provider == P_RULES)
		sb_usage_error("component generation needs a language model: --provider openai or anthropic");
	g->set->format = SB_EDIT_WHOLE; /* new files are whole files */
	j->component = sb_strdup(s->component);
	j->opp = jv_null();
	j->insights = jv_array();
	j->change = jv_invalid();
	j->messages = jv_array_append(jv_array(), message("user", "")); /* filled below */
	char *prompt = sb_asprintf(generation_template, s->component, s->component_type, s->requirements,
				   context ? "# Context\n" : "", context ? context : "", context ? "\n\n" : "", standards,
				   sb_edit_format_prompt(SB_EDIT_WHOLE));
	jv_free(j->messages);
	j->messages = jv_array_append(jv_array(), message("user", prompt));
	free(prompt);
	free(context);
	free(standards);
	return j;
}

/* ---- the run ---- */

/* Where a job's files are: the component's path; generation may name a component that has none yet. */
static int find_root(struct gen *g, struct job *j, char **tmpdir)
{
	j->root = component_string(g, j->component, "path");
	if (j->root)
		return 1;
	if (!jv_is_valid(j->opp) || jv_get_kind(j->opp) == JV_KIND_NULL) {
		char *dir = sb_asprintf("%s/sb-gen-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir))
			sb_die(SB_EXIT_IO, "cannot create a temporary directory: %s", strerror(errno));
		*tmpdir = dir;
		j->root = sb_strdup(dir);
		return 1;
	}
	sb_warn("opportunity %s: component %s has no path in the configuration: no change", j->id, j->component);
	j->state = J_DONE;
	return 0;
}

static void prepare_llm_job(struct gen *g, struct job *j)
{
	j->system = sb_strdup(system_prompt);
	if (jv_array_length(jv_copy(j->messages)) == 0) {
		char *prompt = build_prompt(g, j);
		j->messages = jv_array_append(j->messages, message("user", prompt));
		free(prompt);
	}
}

static void print_prompt(struct gen *g, struct job *j)
{
	jv first = jv_array_get(jv_copy(j->messages), 0);
	char *prompt = sb_rec_string(first, "content");
	jv o = jv_object_set(jv_object(), jv_string("type"), jv_string("prompt"));

	o = jv_object_set(o, jv_string("opportunity"), j->id ? jv_string(j->id) : jv_null());
	o = jv_object_set(o, jv_string("component"), jv_string(j->component));
	o = jv_object_set(o, jv_string("provider"), jv_string(provider_names[g->set->provider]));
	o = jv_object_set(o, jv_string("model"), jv_string(g->llm.model ? g->llm.model : ""));
	o = jv_object_set(o, jv_string("system"), jv_string(j->system));
	o = jv_object_set(o, jv_string("prompt"), jv_string(prompt ? prompt : ""));
	o = jv_object_set(o, jv_string("tokens_estimate"),
			  jv_number((double)((strlen(j->system) + (prompt ? strlen(prompt) : 0)) / 4)));
	sb_output_record(o);
	free(prompt);
	jv_free(first);
	j->state = J_DONE;
}

static void generate(struct gen *g)
{
	char *tmpdir = NULL;

	count_generation(g, 0, 0, 0, 0, 0); /* the series exist from the first run, jobs or none */

	for (size_t i = 0; i < g->njobs; i++) {
		struct job *j = g->jobs[i];
		if (!find_root(g, j, &tmpdir))
			continue;
		if (g->set->provider == P_RULES) {
			run_rules(g, j);
			continue;
		}
		prepare_llm_job(g, j);
		if (g->set->print_prompt)
			print_prompt(g, j);
	}
	if (g->set->provider != P_RULES && !g->set->print_prompt)
		run_llm(g);
	emit_ready(g);
	if (tmpdir) {
		rmdir(tmpdir);
		free(tmpdir);
	}
}

/* The provider's own API: the only place its default key variable is sent to. */
static const char *official_url(int provider)
{
	return provider == P_ANTHROPIC ? "https://api.anthropic.com" : "https://api.openai.com/v1";
}

/*
 * The key: from the variable llm.api_key_env names, sent wherever the URL
 * points; else from OPENAI_API_KEY or ANTHROPIC_API_KEY, but only to that
 * provider's own API, so that a key set for one service is never handed to
 * a local or third-party server by accident.
 */
static char *read_key(const struct gen *g, const char *url)
{
	jv named = sb_config_get(g->common->config, "llm.api_key_env");
	const char *env = NULL, *base = official_url(g->set->provider);
	char *key = NULL;

	if (jv_get_kind(named) == JV_KIND_STRING)
		env = jv_string_value(named);
	else if (strncmp(url, base, strlen(base)) == 0)
		env = g->set->provider == P_ANTHROPIC ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
	else if (g->common->verbose)
		sb_warn("no key sent to %s: name its variable in llm.api_key_env", url);
	if (env && getenv(env) && *getenv(env))
		key = sb_strdup(getenv(env));
	jv_free(named);
	return key;
}

/* The model's settings: options, then the configuration's llm section, then defaults by provider. */
static void setup_llm(struct gen *g)
{
	struct settings *s = g->set;
	struct sb_llm *l = &g->llm;

	l->provider = s->provider == P_ANTHROPIC ? SB_LLM_ANTHROPIC : SB_LLM_OPENAI;
	l->url = s->url ? s->url : official_url(s->provider);
	l->model = s->model;
	l->max_tokens = s->max_tokens;
	l->temperature = s->temperature;
	l->timeout = s->timeout;
	l->max_tokens_field = s->tokens_field ? s->tokens_field : sb_llm_default_tokens_field(l->url);
	g->key = read_key(g, l->url);
	l->key = g->key;
	if (!l->model)
		sb_usage_error("no model: give --model or set llm.model in the configuration");
}

static void free_gen(struct gen *g)
{
	for (size_t i = 0; i < g->njobs; i++)
		free_job(g->jobs[i]);
	free(g->jobs);
	if (g->key) {
		explicit_bzero(g->key, strlen(g->key));
		free(g->key);
	}
	if (g->playbook)
		sb_playbook_free(g->playbook);
	if (g->breaker_loaded)
		sb_breaker_free(&g->breaker);
	jv_free(g->components);
}

int main(int argc, char **argv)
{
	static const char *const consumes[] = {"opportunity", "insight", NULL};
	struct settings set = {.temperature = NAN, .timeout = 120, .cooldown = 300, .max_tokens = 4096,
			       .max_context = 12000, .retries = 3, .breaker_failures = 5, .jobs = 1};
	const struct sb_tool_spec spec = {
		.name = "sb-gen",
		.synopsis = "[OPTION]... [FILE]...",
		.purpose = "Turn opportunities into code and configuration changes, with a language model or offline "
			   "rule playbooks.",
		.options = options,
		.set = set_option,
		.ctx = &set,
	};
	struct sb_common common;
	struct sb_run run;
	struct gen g = {.set = &set};
	char err[512];
	int status;

	sb_progname = "sb-gen";
	sb_opts_parse(&spec, argc, argv, &common);
	g.common = &common;
	g.components = sb_config_get(common.config, "components");
	g.insights = sb_strmap_new();
	if (!set.provider_set)
		set.provider = P_RULES; /* llm.provider in the configuration arrives as an option */
	if (set.provider == P_RULES && set.print_prompt)
		sb_usage_error("--print-prompt needs a language model provider: --provider openai or anthropic");
	if (set.provider == P_RULES && !(g.playbook = sb_playbook_load(set.playbook, err, sizeof err)))
		sb_die(SB_EXIT_USAGE, "%s", err);
	if (set.provider != P_RULES)
		setup_llm(&g);
	srand((unsigned)(time(NULL) ^ getpid()));

	sb_filter_begin(&run, &common);
	if (set.component_type) {
		struct job *j = generation_job(&g);
		g.jobs = sb_malloc(sizeof *g.jobs);
		g.jobs[0] = j;
		g.njobs = g.capjobs = 1;
	} else {
		sb_filter_loop(&run, &(struct sb_filter){.consumes = consumes, .pass = set.pass, .record = read_record,
							  .ctx = &g});
	}
	generate(&g);
	status = sb_filter_end(&run);
	if (status == SB_EXIT_OK)
		status = g.status;

	for (size_t i = 0; i < g.ninsights; i++) {
		jv_free(*g.insight_vals[i]);
		free(g.insight_vals[i]);
	}
	free(g.insight_vals);
	sb_strmap_free(g.insights);
	free_gen(&g);
	free(set.examples);
	sb_opts_free(&common);
	return status;
}
