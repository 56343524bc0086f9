/*
 * drain.c - drives lib/drain for test/drain.bats and bench/loghub.
 *
 *   drain [-c] [-v] [-s SIMILARITY] [-d DEPTH] [-k DISTINCT] [-m MAX_TEMPLATES] <messages
 *
 * Clusters each line of stdin as one message; at the end prints one line
 * per message, {"template":"...","seq":N}, with the final template of its
 * cluster (the one it was merged into, or the last template it had before
 * it was evicted). -c adds "count", the messages counted in the template's
 * user slot (summed over merges). -v prints {"templates":N,"max_live":N,
 * "evicted":N,"evict_calls":N,"merges":N} on stderr at the end.
 */
#include "drain.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the driver knows of every sequence number it has seen. */
struct known {
	unsigned long into;              /* merged into this one, or 0 */
	struct sb_drain_cluster *live;   /* NULL once merged or evicted */
	char *last_template;             /* its template when evicted */
	unsigned long count;             /* its count when evicted */
};

static struct known *known;
static size_t nknown;
static unsigned long evict_calls, merges;

static struct known *know(unsigned long seq)
{
	if (seq >= nknown) {
		size_t n = nknown ? nknown : 64;
		while (n <= seq)
			n *= 2;
		known = sb_realloc(known, n * sizeof *known);
		memset(known + nknown, 0, (n - nknown) * sizeof *known);
		nknown = n;
	}
	return &known[seq];
}

static unsigned long *counter(struct sb_drain_cluster *c)
{
	void **slot = sb_drain_user(c);

	if (!*slot)
		*slot = sb_calloc(1, sizeof(unsigned long));
	return *slot;
}

static void on_merge(void *ctx, struct sb_drain_cluster *into, struct sb_drain_cluster *from)
{
	struct known *k = know(sb_drain_cluster_seq(from));
	void **slot = sb_drain_user(from);

	(void)ctx;
	merges++;
	k->into = sb_drain_cluster_seq(into);
	k->live = NULL;
	if (*slot) {
		*counter(into) += *(unsigned long *)*slot;
		free(*slot);
		*slot = NULL;
	}
}

static void on_evict(void *ctx, struct sb_drain_cluster *c)
{
	struct known *k = know(sb_drain_cluster_seq(c));
	void **slot = sb_drain_user(c);

	(void)ctx;
	evict_calls++;
	k->live = NULL;
	k->last_template = sb_strdup(sb_drain_template(c));
	k->count = *slot ? *(unsigned long *)*slot : 0;
	free(*slot);
	*slot = NULL;
}

static void free_user(void *ctx, struct sb_drain_cluster *c)
{
	void **slot = sb_drain_user(c);

	(void)ctx;
	free(*slot);
	*slot = NULL;
}

static void print_json_string(const char *s)
{
	putchar('"');
	while (*s) {
		size_t run = 0;
		while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
			run++;
		fwrite(s, 1, run, stdout);
		s += run;
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s++);
		else if (*s)
			printf("\\u%04x", (unsigned char)*s++);
	}
	putchar('"');
}

static void usage(void)
{
	fprintf(stderr, "usage: drain [-c] [-v] [-s SIMILARITY] [-d DEPTH] [-k DISTINCT] [-m MAX_TEMPLATES] <messages\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sb_drain_params params;
	sb_drain *d;
	unsigned long *seqs = NULL;
	size_t nlines = 0, cap = 0, linecap = 0, max_live = 0;
	char *line = NULL;
	ssize_t n;
	int opt, counts = 0, verbose = 0;

	sb_progname = "drain";
	sb_drain_defaults(&params);
	while ((opt = getopt(argc, argv, "cvs:d:k:m:")) != -1) {
		switch (opt) {
		case 'c': counts = 1; break;
		case 'v': verbose = 1; break;
		case 's': params.similarity = atof(optarg); break;
		case 'd': params.depth = atoi(optarg); break;
		case 'k': params.distinct_values = atoi(optarg); break;
		case 'm': params.max_templates = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	d = sb_drain_new(&params);
	sb_drain_on_evict(d, on_evict, NULL);
	sb_drain_on_merge(d, on_merge, NULL);
	while ((n = getline(&line, &linecap, stdin)) >= 0) {
		struct sb_drain_cluster *c;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		c = sb_drain_add(d, line, (size_t)n);
		++*counter(c);
		know(sb_drain_cluster_seq(c))->live = c;
		if (nlines == cap) {
			cap = cap ? cap * 2 : 1024;
			seqs = sb_realloc(seqs, cap * sizeof *seqs);
		}
		seqs[nlines++] = sb_drain_cluster_seq(c);
		if (sb_drain_count(d) > max_live)
			max_live = sb_drain_count(d);
	}
	for (size_t i = 0; i < nlines; i++) {
		unsigned long seq = seqs[i];
		struct known *k;
		while (known[seq].into)
			seq = known[seq].into;
		k = &known[seq];
		printf("{\"template\":");
		print_json_string(k->live ? sb_drain_template(k->live) : k->last_template);
		printf(",\"seq\":%lu", seq);
		if (counts)
			printf(",\"count\":%lu", k->live ? *counter(k->live) : k->count);
		printf("}\n");
	}
	if (verbose)
		fprintf(stderr, "{\"templates\":%zu,\"max_live\":%zu,\"evicted\":%lu,\"evict_calls\":%lu,\"merges\":%lu}\n",
			sb_drain_count(d), max_live, sb_drain_evicted(d), evict_calls, merges);
	sb_drain_foreach(d, free_user, NULL);
	sb_drain_free(d);
	for (size_t i = 0; i < nknown; i++)
		free(known[i].last_template);
	free(known);
	free(seqs);
	free(line);
	return fflush(stdout) != 0 || ferror(stdout);
}
