/* opts.c - one option table per tool: parsing, --help, environment and config */
#include "opts.h"
#include "timefmt.h"
#include "config.h"
#include "err.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SB_VERSION
#define SB_VERSION "0.0.0"
#endif

enum {
	OPT_HELP = 1, OPT_VERSION, OPT_CONFIG, OPT_STATE_DIR, OPT_TENANT, OPT_WHERE,
	OPT_ON_ERROR, OPT_UNBUFFERED, OPT_QUIET, OPT_VERBOSE,
};

static const struct sb_option common_options[] = {
	{"help", 'h', NULL, "show this help and exit", OPT_HELP, NULL, NULL},
	{"version", 'V', NULL, "show the version and exit", OPT_VERSION, NULL, NULL},
	{"config", 'c', "FILE", "read the configuration from FILE", OPT_CONFIG, NULL, NULL},
	{"state-dir", 'S', "DIR", "keep state in DIR", OPT_STATE_DIR, "SB_STATE_DIR", "state_dir"},
	{"tenant", 't', "ID", "read and write only records of tenant ID", OPT_TENANT, "SB_TENANT", NULL},
	{"where", 'w', "JQ", "keep only input records for which JQ is true", OPT_WHERE, NULL, NULL},
	{"on-error", 0, "MODE", "malformed lines: warn (default), fail, quarantine=FILE",
	 OPT_ON_ERROR, "SB_ON_ERROR", "on_error"},
	{"unbuffered", 'u', NULL, "flush output after every record", OPT_UNBUFFERED, NULL, NULL},
	{"quiet", 'q', NULL, "no progress line and no per-line warnings", OPT_QUIET, NULL, NULL},
	{"verbose", 'v', NULL, "report counts and decisions on stderr", OPT_VERBOSE, NULL, NULL},
	{NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static const char *tool_name = "sb";

struct occurrence {
	const struct sb_option *opt;
	const char *arg;
};

/* The parse tables; --help, --version and usage errors free them before exiting. */
static const struct sb_option **table;
static struct option *getopt_options;
static struct occurrence *occ;
static char *shorts;

static void release_tables(void)
{
	free(table);
	free(getopt_options);
	free(occ);
	free(shorts);
	shorts = NULL;
	table = NULL;
	getopt_options = NULL;
	occ = NULL;
}

_Noreturn void sb_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sb_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
	release_tables();
	exit(SB_EXIT_USAGE);
}

/* After a setter's own message: where the value came from, and the hint. */
static _Noreturn void usage_hint(const char *origin)
{
	if (origin[0] != '-')
		fprintf(stderr, "%s: the value came from %s\n", sb_progname, origin);
	fprintf(stderr, "Try '%s --help' for more information.\n", tool_name);
	release_tables();
	exit(SB_EXIT_USAGE);
}

int sb_opt_long(const char *name, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return sb_error("--%s: '%s' is not an integer from %ld to %ld", name, arg, min, max);
	*out = v;
	return 0;
}

int sb_opt_duration(const char *name, const char *arg, double *out)
{
	if (sb_duration_parse(arg, out) < 0 || *out <= 0)
		return sb_error("--%s: '%s' is not a duration like 90s, 5m or 1h", name, arg);
	return 0;
}

int sb_opt_double(const char *name, const char *arg, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min)
		return sb_error("--%s: '%s' is not a number of at least %g", name, arg, min);
	*out = v;
	return 0;
}

int sb_opt_choice(const char *name, const char *arg, const char *const *words)
{
	char list[256] = "";

	for (int i = 0; words[i]; i++) {
		if (strcmp(arg, words[i]) == 0)
			return i;
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", words[i]);
	}
	return sb_error("--%s: '%s' is not one of %s", name, arg, list);
}

/* The tool's rows followed by the common ones. */
static const struct sb_option **merged_table(const struct sb_tool_spec *spec, int *count)
{
	int n = 0, k = 0;

	for (const struct sb_option *o = spec->options; o && o->name; o++)
		n++;
	for (const struct sb_option *o = common_options; o->name; o++)
		n++;
	const struct sb_option **all = sb_calloc((size_t)n + 1, sizeof *all);
	for (const struct sb_option *o = spec->options; o && o->name; o++)
		all[k++] = o;
	for (const struct sb_option *o = common_options; o->name; o++)
		all[k++] = o;
	*count = n;
	return all;
}

static int is_common(const struct sb_option *o)
{
	return o >= common_options && o < common_options + sizeof common_options / sizeof common_options[0];
}

static void help_rows(const struct sb_option *o, int common)
{
	for (; o && o->name; o++) {
		char left[64];
		if (is_common(o) != common)
			continue;
		snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
			 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		printf(" %-28s %s\n", left, o->help);
	}
}

void sb_opts_help(const struct sb_tool_spec *spec)
{
	printf("Usage: %s %s\n%s\n", spec->name, spec->synopsis, spec->purpose);
	if (spec->options && spec->options->name) {
		printf("\nOptions:\n");
		help_rows(spec->options, 0);
	}
	printf("\nCommon options:\n");
	help_rows(common_options, 1);
	printf("\nWith no FILE, or when FILE is -, read standard input.\n"
	       "Exit status: 0 success, 1 negative outcome, 2 usage or configuration error,\n"
	       "3 bad input (--on-error fail), 4 remote service unavailable, 5 I/O error.\n"
	       "See %s(1) and sb(7).\n", spec->name);
}

static void apply(const struct sb_tool_spec *spec, struct sb_common *c, const struct sb_option *o,
		  const char *arg, const char *origin)
{
	if (!is_common(o)) {
		if (spec->set(spec->ctx, o->id, arg) < 0)
			usage_hint(origin);
		return;
	}
	switch (o->id) {
	case OPT_STATE_DIR: c->state_dir = arg; break;
	case OPT_TENANT: c->tenant = arg; break;
	case OPT_WHERE: c->where = arg; break;
	case OPT_UNBUFFERED: c->unbuffered = 1; break;
	case OPT_QUIET: c->quiet = 1; break;
	case OPT_VERBOSE: c->verbose = 1; break;
	case OPT_ON_ERROR:
		if (strcmp(arg, "warn") == 0)
			c->on_error = SB_ON_ERROR_WARN;
		else if (strcmp(arg, "fail") == 0)
			c->on_error = SB_ON_ERROR_FAIL;
		else if (strncmp(arg, "quarantine=", 11) == 0 && arg[11]) {
			c->on_error = SB_ON_ERROR_QUARANTINE;
			c->quarantine = arg + 11;
		} else {
			sb_warn("--on-error: '%s' is not fail, warn or quarantine=FILE", arg);
			usage_hint(origin);
		}
		break;
	}
}

/* A configuration value as option text; NULL for false and for null. */
static const char *config_text(jv v, const struct sb_option *o, char *buf, size_t size, const char *path)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		snprintf(buf, size, "%s", jv_string_value(v));
		return buf;
	case JV_KIND_NUMBER:
		snprintf(buf, size, "%.17g", jv_number_value(v));
		return buf;
	case JV_KIND_TRUE:
		return o->arg ? "true" : "";
	case JV_KIND_FALSE:
		return o->arg ? "false" : NULL;
	case JV_KIND_NULL:
		return NULL;
	default:
		sb_die(SB_EXIT_USAGE, "%s: \"%s\" must be a string, number or boolean", path, o->key);
	}
}

/* Environment, then configuration, for an option not on the command line. */
static void apply_defaults(const struct sb_tool_spec *spec, struct sb_common *c, const struct sb_option *o,
			   char **store)
{
	const char *env = o->env ? getenv(o->env) : NULL;
	char buf[4096];

	if (env && *env) {
		if (!o->arg && strcmp(env, "0") == 0)
			return;
		apply(spec, c, o, o->arg ? env : NULL, o->env);
		return;
	}
	if (!o->key)
		return;
	jv v = sb_config_get(c->config, o->key);
	const char *text = config_text(v, o, buf, sizeof buf, c->config_path);
	jv_free(v);
	if (!text)
		return;
	/* The value must outlive this call: keep it with the parsed options. */
	*store = sb_strdup(text);
	char *origin = sb_asprintf("%s (%s)", c->config_path, o->key);
	apply(spec, c, o, o->arg ? *store : NULL, origin);
	free(origin);
}

static struct option *getopt_table(const struct sb_option **all, int n, char *shorts)
{
	struct option *lo = sb_calloc((size_t)n + 1, sizeof *lo);
	char *s = shorts;

	*s++ = ':'; /* report a missing argument as ':' */
	for (int i = 0; i < n; i++) {
		lo[i].name = all[i]->name;
		lo[i].has_arg = all[i]->arg ? required_argument : no_argument;
		lo[i].val = 256 + i;
		if (all[i]->short_name) {
			*s++ = (char)all[i]->short_name;
			if (all[i]->arg)
				*s++ = ':';
		}
	}
	*s = '\0';
	return lo;
}

static int index_of_short(const struct sb_option **all, int n, int ch)
{
	for (int i = 0; i < n; i++)
		if (all[i]->short_name == ch)
			return i;
	return -1;
}

void sb_opts_parse(const struct sb_tool_spec *spec, int argc, char **argv, struct sb_common *c)
{
	int n, ch, nocc = 0;
	const struct sb_option **all = table = merged_table(spec, &n);
	shorts = sb_malloc(1 + 2 * (size_t)n + 1); /* ':', then a letter and ':' per option */
	struct option *lo = getopt_options = getopt_table(all, n, shorts);
	const char *config_arg = NULL;

	occ = sb_calloc((size_t)argc + 1, sizeof *occ);
	memset(c, 0, sizeof *c);
	c->owned = sb_calloc((size_t)n, sizeof *c->owned);
	c->nowned = n;
	c->tool = spec->name;
	tool_name = spec->name;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		int i = ch >= 256 ? ch - 256 : index_of_short(all, n, ch);
		if (ch == ':')
			sb_usage_error("option '%s' needs an argument", argv[optind - 1]);
		if (ch == '?' && optopt >= 256)
			sb_usage_error("option '--%s' takes no argument", all[optopt - 256]->name);
		if (ch == '?' || i < 0) {
			if (optopt)
				sb_usage_error("unknown option '-%c'", optopt);
			sb_usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (is_common(all[i]) && all[i]->id == OPT_HELP) {
			sb_opts_help(spec);
			release_tables();
			exit(fflush(stdout) == 0 ? 0 : SB_EXIT_IO);
		}
		if (is_common(all[i]) && all[i]->id == OPT_VERSION) {
			printf("%s (sb) %s\n", spec->name, SB_VERSION);
			release_tables();
			exit(fflush(stdout) == 0 ? 0 : SB_EXIT_IO);
		}
		if (is_common(all[i]) && all[i]->id == OPT_CONFIG)
			config_arg = optarg;
		occ[nocc].opt = all[i];
		occ[nocc++].arg = optarg;
	}
	c->config = sb_config_load(config_arg, &c->config_path);
	for (int i = 0; i < n; i++) {
		int given = 0;
		for (int k = 0; k < nocc && !given; k++)
			given = occ[k].opt == all[i];
		if (!given)
			apply_defaults(spec, c, all[i], &c->owned[i]);
	}
	for (int k = 0; k < nocc; k++) {
		char origin[128];
		snprintf(origin, sizeof origin, "--%s", occ[k].opt->name);
		apply(spec, c, occ[k].opt, occ[k].arg, origin);
	}
	c->files = argv + optind;
	c->nfiles = argc - optind;
	release_tables();
}

void sb_opts_free(struct sb_common *c)
{
	jv_free(c->config);
	free(c->config_path);
	for (int i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	c->owned = NULL;
}
