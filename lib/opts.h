/* opts.h - one option table per tool: parsing, --help, environment and config */
#ifndef SB_OPTS_H
#define SB_OPTS_H

#include <jv.h>

/*
 * One row per option. Tools list their own rows; the common ones of
 * sb(7) are added by sb_opts_parse. An option with an env name or a
 * config key can also be set there: options override the environment,
 * which overrides the configuration file.
 */
struct sb_option {
	const char *name;  /* long name without "--" */
	int short_name;    /* 0 when none */
	const char *arg;   /* metavariable, NULL for a flag */
	const char *help;  /* one line for --help */
	int id;            /* passed to the tool's setter; tools use ids >= 1000 */
	const char *env;   /* environment variable, or NULL */
	const char *key;   /* dotted configuration key, or NULL */
};

enum sb_on_error { SB_ON_ERROR_WARN, SB_ON_ERROR_FAIL, SB_ON_ERROR_QUARANTINE };

/* The options every tool shares, after parsing. */
struct sb_common {
	const char *tool;        /* "sb-score" */
	char *config_path;       /* the file read, or NULL */
	jv config;               /* the configuration object (empty when none) */
	const char *state_dir;   /* --state-dir / $SB_STATE_DIR / config, or NULL */
	const char *tenant;      /* --tenant, or NULL */
	const char *where;       /* --where expression, or NULL */
	enum sb_on_error on_error;
	const char *quarantine;  /* the FILE of quarantine=FILE */
	int unbuffered, quiet, verbose;
	char **files;            /* operands; none means stdin */
	int nfiles;
	char **owned;            /* option values read from the configuration */
	int nowned;
};

/*
 * Called for each tool option with its final value (arg is NULL for a
 * flag). Return 0, or -1 after printing why the value is invalid: that
 * is a usage error (exit 2).
 */
typedef int (*sb_opt_setter)(void *ctx, int id, const char *arg);

struct sb_tool_spec {
	const char *name;              /* "sb-score" */
	const char *synopsis;          /* "[OPTION]... [FILE]..." */
	const char *purpose;           /* one sentence for --help */
	const struct sb_option *options; /* ends with a row whose name is NULL */
	sb_opt_setter set;
	void *ctx;
};

/*
 * Parse argv for the tool: handles --help and --version (exit 0), loads
 * the configuration, applies environment and config values, then the
 * command line. A usage error prints a one-line hint and exits 2.
 */
void sb_opts_parse(const struct sb_tool_spec *spec, int argc, char **argv, struct sb_common *common);

/* Print a usage error and the --help hint, then exit 2. */
_Noreturn void sb_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parsers for option values that print their own error; 0 or -1. */
int sb_opt_long(const char *name, const char *arg, long min, long max, long *out);
int sb_opt_double(const char *name, const char *arg, double min, double *out);
/* A duration greater than zero ("90s", "5m", "1h30m") in seconds. */
int sb_opt_duration(const char *name, const char *arg, double *out);
/* Index of arg in words (NULL-terminated), or -1 with an error. */
int sb_opt_choice(const char *name, const char *arg, const char *const *words);

/* Every long option of a spec, common ones included, for --help and tests. */
void sb_opts_help(const struct sb_tool_spec *spec);

/* Release what sb_opts_parse allocated. */
void sb_opts_free(struct sb_common *common);

#endif
