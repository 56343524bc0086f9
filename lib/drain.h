/* drain.h - online clustering of log messages into templates (Drain) */
#ifndef SB_DRAIN_H
#define SB_DRAIN_H

#include <stddef.h>

/*
 * Drain (He et al., ICWS 2017): a message is masked (numbers, hex, ids, IP
 * addresses, host names, paths, URLs, quoted values, dates and quantities
 * become "<*>"), split into words, routed through a prefix tree by word
 * count and leading words, and joined to the most similar pattern of the
 * leaf it reaches, or starts a new one. Two refinements over the paper:
 *
 * - A position where the words of a pattern differ only becomes a variable
 *   once it has shown distinct_values distinct words (or two, when every
 *   word there holds a masked part, like rdd_<*> and broadcast_<*>). Until
 *   then each combination of words is a template of its own: "Link error"
 *   and "Link ok" are two events, not "Link <*>". When the position turns
 *   into a variable, the templates that now coincide are merged (see
 *   sb_drain_on_merge).
 * - A message whose word count matches no pattern is compared once more on
 *   its constant words alone, so an optional variable ("4042 bytes (3.94 KB)
 *   sent" beside "474 bytes sent") does not split an event.
 *
 * One sb_drain serves one thread; its clusters belong to it.
 */
typedef struct sb_drain sb_drain;

struct sb_drain_params {
	int depth;            /* prefix tree depth: word-count layer + depth-2 leading words + leaf */
	double similarity;    /* 0..1: share of a pattern's constant words a message must match */
	int max_children;     /* children per tree node; further words share a "<*>" child */
	size_t max_templates; /* 0: unlimited; otherwise the least recently seen template is evicted */
	int distinct_values;  /* distinct words before a position is a variable (1: at once, as Drain) */
	int max_variants;     /* templates per pattern before its most varied position is a variable */
};

/* The tuned defaults: depth 4, similarity 0.5, 100 children, unlimited, 4, 32. */
void sb_drain_defaults(struct sb_drain_params *p);
/* p NULL: the defaults. Values out of range are replaced by the default. */
sb_drain *sb_drain_new(const struct sb_drain_params *p);

struct sb_drain_cluster;

/*
 * Cluster one message (len bytes, not necessarily NUL-terminated; NUL bytes
 * count as spaces); returns its cluster, which stays valid until it is
 * evicted or sb_drain_free. A cluster returned earlier may since have been
 * merged into another: the accessors below then answer for the one it was
 * merged into, and it stays valid until that one is evicted.
 */
struct sb_drain_cluster *sb_drain_add(sb_drain *d, const char *msg, size_t len);
/* Words joined by one space, variables "<*>"; it may still change while messages are added. */
const char *sb_drain_template(const struct sb_drain_cluster *c);
/* 1, 2, ... in creation order, never reused. */
unsigned long sb_drain_cluster_seq(const struct sb_drain_cluster *c);
/* One pointer slot for the caller's per-template data, NULL at first. */
void **sb_drain_user(struct sb_drain_cluster *c);

/*
 * Called from sb_drain_add just before a cluster is evicted (max_templates;
 * never the one being returned), so the caller can free its data. The
 * clusters merged into it go with it, without a call.
 */
void sb_drain_on_evict(sb_drain *d, void (*fn)(void *ctx, struct sb_drain_cluster *c), void *ctx);
/*
 * Called from sb_drain_add when cluster from is merged into cluster into
 * (they now have the same template), so the caller can fold from's data
 * into into's. During the call both answer for themselves; afterwards from
 * answers for into (its sequence number, template and user slot), so from's
 * own user slot must not hold anything the caller still needs to free. The
 * callbacks must not call sb_drain_add or sb_drain_free.
 */
void sb_drain_on_merge(sb_drain *d,
		       void (*fn)(void *ctx, struct sb_drain_cluster *into, struct sb_drain_cluster *from),
		       void *ctx);
/* Call fn for every live cluster, least recently seen first; fn must not add or free. */
void sb_drain_foreach(sb_drain *d, void (*fn)(void *ctx, struct sb_drain_cluster *c), void *ctx);

/* Live templates (merged ones not counted). */
size_t sb_drain_count(const sb_drain *d);
unsigned long sb_drain_evicted(const sb_drain *d);
/* Frees every cluster without calling on_evict. */
void sb_drain_free(sb_drain *d);

#endif
