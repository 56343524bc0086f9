/* drain.c - online clustering of log messages into templates (Drain) */
#include "drain.h"
#include "err.h"
#include "hash.h"
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VAR "<*>"
#define VARLEN 3

/* ---- Character classes: ASCII only, so the locale never changes a template. */

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == '\0'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static int is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }
static int is_hex(unsigned char c) { return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

/* Punctuation classes, as a table because every byte of a message is looked up. */
enum {
	C_LEAD = 1,   /* before a word's core: "(3.94" */
	C_TRAIL = 2,  /* after it: "KB)," */
	C_INNER = 4,  /* splits a core into pieces masked on their own: uid=0, host:port */
	C_JOIN = 8,   /* joins variables into one: <*>_<*> */
	C_OPENS = 16, /* ends what a variable's shown form keeps before it: rhost= */
	C_CLOSES = 32 /* starts what it keeps after it */
};

static const unsigned char char_class[256] = {
	['('] = C_LEAD | C_INNER | C_OPENS, ['['] = C_LEAD | C_INNER | C_OPENS,
	['{'] = C_LEAD | C_OPENS, ['<'] = C_LEAD, ['\''] = C_LEAD | C_TRAIL, ['"'] = C_LEAD | C_TRAIL,
	[')'] = C_TRAIL | C_INNER | C_CLOSES, [']'] = C_TRAIL | C_INNER | C_CLOSES,
	['}'] = C_TRAIL | C_CLOSES, ['>'] = C_TRAIL, [','] = C_TRAIL | C_INNER | C_CLOSES,
	[';'] = C_TRAIL | C_CLOSES, [':'] = C_TRAIL | C_INNER | C_OPENS | C_CLOSES,
	['.'] = C_TRAIL | C_JOIN, ['!'] = C_TRAIL, ['?'] = C_TRAIL,
	['='] = C_INNER | C_OPENS, ['/'] = C_INNER | C_OPENS, ['@'] = C_INNER | C_OPENS,
	['#'] = C_INNER | C_OPENS, ['|'] = C_INNER, ['&'] = C_INNER,
	['_'] = C_JOIN, ['-'] = C_JOIN,
};

static int is(unsigned cls, char c) { return (char_class[(unsigned char)c] & cls) != 0; }

static int has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_digit((unsigned char)s[i]))
			return 1;
	return 0;
}

/* s[0..n) equals one of the NULL-terminated words, ignoring ASCII case when asked. */
static int is_one_of(const char *const *words, const char *s, size_t n, int nocase)
{
	for (; *words; words++) {
		if (n == 0 || ((*words)[0] | 32) != (s[0] | 32) || strlen(*words) != n)
			continue;
		if (nocase ? strncasecmp(*words, s, n) == 0 : memcmp(*words, s, n) == 0)
			return 1;
	}
	return 0;
}

/* ---- Growable byte buffer. */

struct buf {
	char *s;
	size_t len, cap;
};

static void buf_grow(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	b->cap = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n + 256;
	b->s = sb_realloc(b->s, b->cap);
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return; /* memcpy must not see the NULL of an empty buffer */
	buf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

static void buf_addc(struct buf *b, char c)
{
	buf_grow(b, 1);
	b->s[b->len++] = c;
}

/* ---- Words. */

enum {
	TOK_VAR = 1,   /* holds a variable */
	TOK_PURE = 2,  /* nothing but variables and punctuation: "<*>", "(<*>)", "<*>:<*>" */
	TOK_DIGIT = 4, /* holds a digit: a variable to the prefix tree, as in Drain */
};

struct tok {
	const char *s;
	size_t len;
	uint64_t hash;
	unsigned flags;
};

static unsigned tok_flags(const char *s, size_t n)
{
	unsigned flags = 0;
	int alnum = 0; /* outside variables */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '<' && n - i >= VARLEN && s[i + 1] == '*' && s[i + 2] == '>') {
			flags |= TOK_VAR;
			i += VARLEN - 1;
		} else if (is_digit(c)) {
			flags |= TOK_DIGIT;
			alnum = 1;
		} else if (is_alpha(c) || c >= 0x80) {
			alnum = 1;
		}
	}
	if ((flags & TOK_VAR) && !alnum)
		flags |= TOK_PURE;
	return flags;
}

static struct tok make_tok(const char *s, size_t n)
{
	struct tok t = { s, n, sb_fnv1a(s, n), tok_flags(s, n) };
	return t;
}

static int tok_eq(const struct tok *a, const struct tok *b)
{
	return a->hash == b->hash && a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Copies n words into one allocation, which is returned; dst points into it. */
static char *copy_toks(struct tok *dst, const struct tok *src, size_t n)
{
	size_t total = 1;
	char *text, *p;

	for (size_t i = 0; i < n; i++)
		total += src[i].len + 1;
	p = text = sb_malloc(total);
	for (size_t i = 0; i < n; i++) {
		dst[i] = src[i];
		dst[i].s = p;
		memcpy(p, src[i].s, src[i].len);
		p[src[i].len] = '\0';
		p += src[i].len + 1;
	}
	return text;
}

/* ---- Masking: one fixed set of rules for every input. */

static const char *const month_and_day_names[] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	"January", "February", "March", "April", "June", "July", "August", "September",
	"October", "November", "December", NULL,
};

/* Units that make one quantity with the number before them: "3.94 KB", "<1 sec". */
static const char *const units[] = {
	"B", "KB", "MB", "GB", "TB", "PB", "kB", "KiB", "MiB", "GiB", "TiB", "sec", "secs", NULL,
};

static const char *const generic_tlds[] = {
	"com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", NULL,
};

/* Second-level labels under which a two-letter country code is a host name: cuhk.edu.hk. */
static const char *const country_slds[] = {
	"co", "com", "net", "org", "edu", "ac", "gov", "or", "ne", "go", NULL,
};

/* Digits with separators: integers, decimals, IPv4, dotted times and dates, versions. */
static int is_numeric(const char *s, size_t n)
{
	size_t digits = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (is_digit((unsigned char)c))
			digits++;
		else if (!(c == '.' || c == '-' || c == '_' || c == '+' ||
			   (i == 0 && (c == '<' || c == '>' || c == '~' || c == '=')) ||
			   (i > 0 && (c == 'e' || c == 'E')) || (i == n - 1 && c == '%')))
			return 0;
	}
	return digits > 0;
}

/* 0x-prefixed, or eight hex digits or more with a digit among them (ids, UUIDs, MACs). */
static int is_hexid(const char *s, size_t n)
{
	size_t hex = 0, digits = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < n; i++)
			if (!is_hex((unsigned char)s[i]))
				return 0;
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_hex(c)) {
			hex++;
			digits += is_digit(c);
		} else if (c != '-' && c != ':') {
			return 0;
		}
	}
	return hex >= 8 && digits > 0;
}

/* A DNS name under a generic top-level domain, or under a country's co/edu/net...: java.lang.String is not one. */
static int is_host(const char *s, size_t n)
{
	size_t labels = 1, start = 0, prev = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (i == start)
				return 0;
			labels++;
			prev = start;
			start = i + 1;
		} else if (!is_alnum(c) && c != '-') {
			return 0;
		}
	}
	if (labels < 2 || start == n)
		return 0;
	for (size_t i = start; i < n; i++)
		if (!is_alpha((unsigned char)s[i]))
			return 0;
	if (is_one_of(generic_tlds, s + start, n - start, 1))
		return 1;
	return labels >= 3 && n - start == 2 && is_one_of(country_slds, s + prev, start - 1 - prev, 1);
}

static int is_path(const char *s, size_t n)
{
	size_t slashes = 0;

	for (size_t i = 0; i < n; i++)
		slashes += s[i] == '/';
	if (slashes < 2)
		return 0;
	if (s[0] == '/' || (n > 1 && (s[0] == '.' || s[0] == '~') && s[1] == '/'))
		return 1;
	for (size_t i = 0; i + 2 < n; i++)
		if (memcmp(s + i, "://", 3) == 0)
			return 1;
	return 0;
}

/* NAME:PORT, the name being any host-like word: proxy.example.com:5070, 10.0.0.1:80. */
static int is_hostport(const char *s, size_t n)
{
	size_t colon = n;

	while (colon > 0 && s[colon - 1] != ':')
		colon--;
	if (colon < 2 || n - colon < 1 || n - colon > 5)
		return 0;
	for (size_t i = colon; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return 0;
	for (size_t i = 0; i + 1 < colon; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

static int is_variable(const char *s, size_t n)
{
	return n > 0 && (is_numeric(s, n) || is_hexid(s, n) || is_host(s, n));
}

/*
 * Digit runs inside an identifier: blk_<*>, core.<*>, node-<*>, <*>ms. A
 * single digit right after a letter is taken as part of the name (ssh2,
 * eth0, jk2_init), and variables joined by _ . - are one variable
 * (appattempt_<*>, not appattempt_<*>_<*>_<*>).
 */
static void mask_digits(struct buf *b, const char *s, size_t n)
{
	size_t start = b->len;

	for (size_t i = 0; i < n;) {
		size_t j = i, out;
		if (!is_digit((unsigned char)s[i])) {
			buf_addc(b, s[i++]);
			continue;
		}
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
		if (j - i < 2 && i > 0 && is_alpha((unsigned char)s[i - 1])) {
			buf_add(b, s + i, j - i);
			i = j;
			continue;
		}
		out = b->len - start;
		if (out >= 1 && b->s[b->len - 1] == '-' && (out == 1 || b->s[b->len - 2] == '_'))
			b->len--; /* a sign: blk_-123 is blk_<*> */
		out = b->len - start;
		if (out > VARLEN && is(C_JOIN, b->s[b->len - 1]) &&
		    memcmp(b->s + b->len - 1 - VARLEN, VAR, VARLEN) == 0)
			b->len--;
		else
			buf_add(b, VAR, VARLEN);
		i = j;
	}
}

static void mask_piece(struct buf *b, const char *s, size_t n)
{
	if (is_variable(s, n))
		buf_add(b, VAR, VARLEN);
	else if (has_digit(s, n))
		mask_digits(b, s, n);
	else
		buf_add(b, s, n);
}

/* Every rule needs a digit, a dot or a slash: most words have none and are kept as they are. */
static int may_mask(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_digit((unsigned char)s[i]) || s[i] == '.' || s[i] == '/')
			return 1;
	return 0;
}

static void mask_core(struct buf *b, const char *s, size_t n)
{
	size_t piece = 0;

	if (!may_mask(s, n)) {
		buf_add(b, s, n);
		return;
	}
	if (is_path(s, n) || is_hexid(s, n)) {
		buf_add(b, VAR, VARLEN);
		return;
	}
	if (is_hostport(s, n)) {
		buf_add(b, VAR ":" VAR, 2 * VARLEN + 1);
		return;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && !is(C_INNER, s[i]))
			continue;
		mask_piece(b, s + piece, i - piece);
		if (i < n)
			buf_addc(b, s[i]);
		piece = i + 1;
	}
}

/* One whitespace-separated word of the message being masked. */
struct word {
	size_t off, len;     /* the masked word in the text buffer */
	size_t lead, trail;  /* its punctuation before and after the core */
	unsigned char pure;  /* its core is a variable */
	unsigned char date;  /* a month or weekday name */
	unsigned char unit;  /* a unit such as KB */
};

/* ---- The prefix tree: word count, then leading words, then a leaf of patterns. */

struct pattern;

struct node {
	struct node *parent;
	char *key; /* its key in the edge map: the parent's address and the word */
	size_t keylen;
	size_t nkids;
	struct pattern *first, *last; /* a leaf's patterns, oldest first */
};

/* Two trees: 0 by all words, 1 by the constant words alone (the skeleton). */
enum { BY_WORDS, BY_SKELETON };

enum { POS_CONST, POS_OPEN, POS_VAR };

/*
 * A Drain cluster: the words of its first message, generalised position by
 * position. An open position has differing words not yet numerous enough to
 * be a variable; each combination of them is a template (sb_drain_cluster).
 */
struct pattern {
	size_t n;
	struct tok *t;          /* the words; a variable's shown form ("rhost=<*>") */
	unsigned char *state;
	char **shown;           /* allocated shown forms of variables */
	char *text;
	size_t nconst;          /* positions still constant */
	size_t *skel, nskel;    /* positions of the first message's constant words */
	size_t skel_const;      /* of which still constant */
	unsigned char *gap;     /* n + 1: a variable may stand before position i */
	size_t *open, nopen;
	struct sb_drain_cluster *subs;
	size_t nsubs;
	struct node *leaf[2];
	struct pattern *prev[2], *next[2];
};

struct sb_drain_cluster {
	unsigned long seq;
	unsigned long seen;     /* recency tick */
	void *user;
	struct pattern *pat;    /* NULL once merged */
	struct sb_drain_cluster *into;                   /* the cluster it was merged into */
	struct sb_drain_cluster *stubs, *next_stub;      /* the clusters merged into it */
	struct tok *val;        /* its words at every position of the pattern */
	char *valtext;
	uint64_t key;           /* hash of its words at the open positions */
	char *tmpl;
	struct sb_drain_cluster *prev, *next;   /* recency list, most recent first */
	struct sb_drain_cluster *sprev, *snext; /* the pattern's templates */
};

struct sb_drain {
	struct sb_drain_params p;
	struct buf text;            /* the masked message */
	struct word *words;
	size_t nwords, wordcap;
	struct tok *toks, *skel;
	size_t *offs, ntoks, nskel, tokcap;
	struct tok *vec;            /* a message aligned to a pattern */
	size_t veccap;
	struct buf key;
	struct tok var;
	sb_strmap *edges;
	struct node root[2];
	struct sb_drain_cluster *head, *tail;
	size_t count;
	unsigned long seq, tick, evicted;
	void (*on_evict)(void *, struct sb_drain_cluster *);
	void *evict_ctx;
	void (*on_merge)(void *, struct sb_drain_cluster *, struct sb_drain_cluster *);
	void *merge_ctx;
};

/* ---- Masking a message into words. */

static struct word *new_word(sb_drain *d)
{
	if (d->nwords == d->wordcap) {
		d->wordcap = d->wordcap ? d->wordcap * 2 : 64;
		d->words = sb_realloc(d->words, d->wordcap * sizeof *d->words);
	}
	return memset(&d->words[d->nwords++], 0, sizeof *d->words);
}

/* "()", "[]", "{}", "''" or a pair of double quotes: an empty value. */
static int is_empty_pair(const char *w, size_t n)
{
	static const char *const pairs[] = { "()", "[]", "{}", "''", "\"\"", NULL };

	return n == 2 && is_one_of(pairs, w, n, 0);
}

/* The word lists are only walked for words that could be in them. */
static int is_date_name(const char *s, size_t n)
{
	return n >= 3 && n <= 9 && memchr("ADFJMNOSTW", s[0], 10) && is_one_of(month_and_day_names, s, n, 0);
}

static int is_unit(const char *s, size_t n)
{
	return n >= 1 && n <= 4 && memchr("BKMGTPks", s[0], 8) && is_one_of(units, s, n, 0);
}

static void add_word(sb_drain *d, const char *w, size_t n)
{
	struct word *wd = new_word(d);
	size_t a = 0, b = n, core;

	while (a < n && is(C_LEAD, w[a]) &&
	       !((w[a] == '<' || w[a] == '>') && a + 1 < n && is_digit((unsigned char)w[a + 1])))
		a++; /* "<1" is a number, not a bracket */
	while (b > a && is(C_TRAIL, w[b - 1]))
		b--;
	wd->off = d->text.len;
	wd->lead = a;
	wd->trail = n - b;
	buf_add(&d->text, w, a);
	core = d->text.len;
	if (a == b && is_empty_pair(w, n))
		buf_add(&d->text, VAR, VARLEN);
	else
		mask_core(&d->text, w + a, b - a);
	wd->pure = d->text.len > core && (tok_flags(d->text.s + core, d->text.len - core) & TOK_PURE);
	buf_add(&d->text, w + b, n - b);
	wd->len = d->text.len - wd->off;
	wd->date = is_date_name(w + a, b - a);
	wd->unit = a == 0 && is_unit(w + a, b - a);
}

/* Rewrites a word (or the pair from..to) as its lead, "<*>" and its trail. */
static void rewrite_var(sb_drain *d, struct word *from, const struct word *to, size_t *off, size_t *len)
{
	size_t need = from->lead + VARLEN + to->trail, at;

	buf_grow(&d->text, need);
	at = d->text.len;
	memcpy(d->text.s + at, d->text.s + from->off, from->lead);
	memcpy(d->text.s + at + from->lead, VAR, VARLEN);
	memcpy(d->text.s + at + from->lead + VARLEN, d->text.s + to->off + to->len - to->trail, to->trail);
	d->text.len += need;
	*off = at;
	*len = need;
}

/* Month and weekday names next to a number, or to another such name, are a date. */
static void mask_dates(sb_drain *d)
{
	for (int pass = 0, changed = 1; changed && pass < 3; pass++) {
		changed = 0;
		for (size_t i = 0; i < d->nwords; i++) {
			struct word *w = &d->words[i];
			if (!w->date || w->pure)
				continue;
			if ((i > 0 && d->words[i - 1].pure) || (i + 1 < d->nwords && d->words[i + 1].pure)) {
				size_t off, len;
				rewrite_var(d, w, w, &off, &len);
				w->off = off;
				w->len = len;
				w->pure = changed = 1;
			}
		}
	}
}

static void grow_toks(sb_drain *d, size_t n)
{
	if (n <= d->tokcap)
		return;
	d->tokcap = n > d->tokcap * 2 ? n : d->tokcap * 2;
	d->toks = sb_realloc(d->toks, d->tokcap * sizeof *d->toks);
	d->skel = sb_realloc(d->skel, d->tokcap * sizeof *d->skel);
	d->offs = sb_realloc(d->offs, d->tokcap * sizeof *d->offs);
}

/* The words become tokens; a quantity and its unit ("3.94 KB") become one. */
static void make_tokens(sb_drain *d)
{
	d->ntoks = d->nskel = 0;
	grow_toks(d, d->nwords);
	for (size_t i = 0; i < d->nwords; i++) {
		struct word *w = &d->words[i];
		size_t off = w->off, len = w->len;
		if (w->pure && i + 1 < d->nwords && d->words[i + 1].unit)
			rewrite_var(d, w, &d->words[++i], &off, &len);
		d->offs[d->ntoks] = off;
		d->toks[d->ntoks++].len = len;
	}
	for (size_t i = 0; i < d->ntoks; i++) {
		d->toks[i] = make_tok(d->text.s + d->offs[i], d->toks[i].len);
		if (!(d->toks[i].flags & TOK_PURE))
			d->skel[d->nskel++] = d->toks[i];
	}
}

/*
 * A quoted value starting the word at msg[i], or after its "key=": the
 * quote closes before a space, the end, or trailing punctuation. Returns
 * the end of the word holding the closing quote (0: no quoted value) and
 * where the quote opens. Whether a quote can close does not depend on
 * where it opened, so a quote character found unclosed once is not looked
 * for again (*unclosed), which keeps a message full of quotes linear.
 */
static size_t quoted_value(const char *msg, size_t len, size_t i, size_t *open, unsigned *unclosed)
{
	size_t k = i;
	unsigned bit;

	while (k < len && (is_alnum((unsigned char)msg[k]) || msg[k] == '_' || msg[k] == '-' || msg[k] == '.'))
		k++;
	if (k > i && (k == len || msg[k] != '='))
		return 0;
	k += k > i;
	if (k >= len || (msg[k] != '"' && msg[k] != '\''))
		return 0;
	bit = msg[k] == '"' ? 1 : 2;
	for (size_t j = k + 1; !(*unclosed & bit) && j < len; j++) {
		size_t e = j + 1;
		if (msg[j] != msg[k])
			continue;
		while (e < len && is(C_TRAIL, msg[e]) && msg[e] != msg[k])
			e++;
		if (e == len || is_space((unsigned char)msg[e])) {
			*open = k;
			return e;
		}
	}
	*unclosed |= bit;
	return 0;
}

/* A quoted value, spaces and all, is one variable: 'su root' is <*>. */
static void add_quoted(sb_drain *d, const char *w, size_t open, size_t n)
{
	struct word *wd = new_word(d);
	size_t close = n;

	while (w[--close] != w[open])
		;
	wd->off = d->text.len;
	wd->lead = open + 1;
	wd->trail = n - close;
	buf_add(&d->text, w, open + 1);
	buf_add(&d->text, VAR, VARLEN);
	buf_add(&d->text, w + close, n - close);
	wd->len = d->text.len - wd->off;
	wd->pure = open == 0;
}

static void tokenize(sb_drain *d, const char *msg, size_t len)
{
	unsigned unclosed = 0;

	d->text.len = 0;
	d->nwords = 0;
	for (size_t i = 0; i < len;) {
		size_t start, end, open;
		int quotes = 0;

		while (i < len && is_space((unsigned char)msg[i]))
			i++;
		start = i;
		for (; i < len && !is_space((unsigned char)msg[i]); i++)
			quotes |= msg[i] == '"' || msg[i] == '\'';
		if (i == start)
			continue;
		if (quotes && (end = quoted_value(msg, len, start, &open, &unclosed))) {
			add_quoted(d, msg + start, open - start, end - start);
			i = end;
		} else {
			add_word(d, msg + start, i - start);
		}
	}
	mask_dates(d);
	make_tokens(d);
}

/* ---- Tree nodes, in one map from (parent, word) to child. */

static void make_key(sb_drain *d, const struct node *parent, const void *s, size_t n)
{
	d->key.len = 0;
	buf_add(&d->key, (const char *)&parent, sizeof parent);
	buf_add(&d->key, s, n);
}

static struct node *child(sb_drain *d, struct node *parent, const void *s, size_t n)
{
	make_key(d, parent, s, n);
	return sb_strmap_get(d->edges, d->key.s, d->key.len);
}

static struct node *add_child(sb_drain *d, struct node *parent, const void *s, size_t n)
{
	struct node *c = sb_calloc(1, sizeof *c);

	make_key(d, parent, s, n);
	c->parent = parent;
	c->keylen = d->key.len;
	c->key = sb_malloc(c->keylen);
	memcpy(c->key, d->key.s, c->keylen);
	sb_strmap_put(d->edges, c->key, c->keylen, c);
	parent->nkids++;
	return c;
}

/* Frees a node left with neither children nor patterns, then its parents likewise. */
static void prune(sb_drain *d, struct node *node)
{
	while (node->parent && node->nkids == 0 && !node->first) {
		struct node *parent = node->parent;
		sb_strmap_remove(d->edges, node->key, node->keylen);
		parent->nkids--;
		free(node->key);
		free(node);
		node = parent;
	}
}

static int is_wild(const struct tok *t)
{
	return (t->flags & (TOK_VAR | TOK_DIGIT)) != 0;
}

static struct node *step(sb_drain *d, struct node *node, const struct tok *t)
{
	struct node *next = is_wild(t) ? NULL : child(d, node, t->s, t->len);

	return next ? next : child(d, node, VAR, VARLEN);
}

/* As Drain adds: a word with digits goes to the "<*>" child, and so does any
 * word once the node has max_children children. */
static struct node *step_create(sb_drain *d, struct node *node, const struct tok *t)
{
	struct node *next, *star = child(d, node, VAR, VARLEN);

	if (is_wild(t))
		return star ? star : add_child(d, node, VAR, VARLEN);
	if ((next = child(d, node, t->s, t->len)))
		return next;
	if (node->nkids + (star ? 0 : 1) < (size_t)d->p.max_children)
		return add_child(d, node, t->s, t->len);
	return star ? star : add_child(d, node, VAR, VARLEN);
}

static struct node *descend(sb_drain *d, int tree, const struct tok *toks, size_t n, int create)
{
	struct node *node = child(d, &d->root[tree], &n, sizeof n);
	size_t layers = (size_t)d->p.depth - 2;

	if (!node) {
		if (!create)
			return NULL;
		node = add_child(d, &d->root[tree], &n, sizeof n);
	}
	for (size_t i = 0; node && i < n && i < layers; i++)
		node = create ? step_create(d, node, &toks[i]) : step(d, node, &toks[i]);
	return node;
}

static void leaf_add(struct node *leaf, struct pattern *p, int tree)
{
	p->leaf[tree] = leaf;
	p->prev[tree] = leaf->last;
	p->next[tree] = NULL;
	if (leaf->last)
		leaf->last->next[tree] = p;
	else
		leaf->first = p;
	leaf->last = p;
}

static void leaf_remove(sb_drain *d, struct pattern *p, int tree)
{
	struct node *leaf = p->leaf[tree];

	if (p->prev[tree])
		p->prev[tree]->next[tree] = p->next[tree];
	else
		leaf->first = p->next[tree];
	if (p->next[tree])
		p->next[tree]->prev[tree] = p->prev[tree];
	else
		leaf->last = p->prev[tree];
	prune(d, leaf);
}

/* ---- Patterns. */

static struct pattern *pattern_new(sb_drain *d)
{
	struct pattern *p = sb_calloc(1, sizeof *p);
	size_t n = d->ntoks;

	p->n = n;
	p->t = sb_calloc(n + 1, sizeof *p->t);
	p->state = sb_calloc(n + 1, 1);
	p->shown = sb_calloc(n + 1, sizeof *p->shown);
	p->gap = sb_calloc(n + 1, 1);
	p->open = sb_calloc(n + 1, sizeof *p->open);
	p->skel = sb_calloc(n + 1, sizeof *p->skel);
	p->text = copy_toks(p->t, d->toks, n);
	for (size_t i = 0; i < n; i++)
		if (!(p->t[i].flags & TOK_PURE))
			p->skel[p->nskel++] = i;
	p->nconst = n;
	p->skel_const = p->nskel;
	leaf_add(descend(d, BY_WORDS, d->toks, n, 1), p, BY_WORDS);
	leaf_add(descend(d, BY_SKELETON, d->skel, d->nskel, 1), p, BY_SKELETON);
	return p;
}

static void pattern_free(sb_drain *d, struct pattern *p)
{
	leaf_remove(d, p, BY_WORDS);
	leaf_remove(d, p, BY_SKELETON);
	for (size_t i = 0; i < p->n; i++)
		free(p->shown[i]);
	free(p->shown);
	free(p->t);
	free(p->state);
	free(p->gap);
	free(p->open);
	free(p->skel);
	free(p->text);
	free(p);
}

/*
 * Similarity as in Drain, over the pattern's constant positions only: a
 * position that is already a variable neither counts for nor against.
 */
struct score {
	size_t equal, of, params;
};

/*
 * Scores pattern p against words w, w[k] standing at position at[k] (at[k]
 * = k when at is NULL). Returns 0 as soon as the threshold is out of reach,
 * which keeps long leaves cheap.
 */
/* The fewest equal words out of n that reach the similarity threshold. */
static size_t needed(double similarity, size_t n)
{
	double x = similarity * (double)n - 1e-9;
	size_t e = x > 0 ? (size_t)x : 0;

	return e + (x > 0 && (double)e < x);
}

static int score(const sb_drain *d, const struct pattern *p, const struct tok *w, const size_t *at,
		 size_t n, size_t nconst, struct score *s)
{
	size_t misses = 0, allowed = nconst - needed(d->p.similarity, nconst);

	s->equal = 0;
	s->of = nconst;
	s->params = p->n - p->nconst;
	for (size_t k = 0; k < n; k++) {
		size_t i = at ? at[k] : k;
		if (p->state[i] != POS_CONST)
			continue;
		if (tok_eq(&p->t[i], &w[k]))
			s->equal++;
		else if (++misses > allowed)
			return 0;
	}
	if (nconst == 0)
		s->equal = s->of = 1;
	return 1;
}

/* A higher share of equal words wins, then more variables (as in Drain). */
static int better(const struct score *s, const struct score *best)
{
	if (!best->of)
		return 1;
	if (s->equal * best->of != best->equal * s->of)
		return s->equal * best->of > best->equal * s->of;
	return s->params > best->params;
}

static struct pattern *best_by_words(sb_drain *d, struct node *leaf)
{
	struct pattern *best = NULL;
	struct score top = { 0, 0, 0 }, s;

	for (struct pattern *p = leaf ? leaf->first : NULL; p; p = p->next[BY_WORDS])
		if (score(d, p, d->toks, NULL, p->n, p->nconst, &s) && better(&s, &top)) {
			best = p;
			top = s;
		}
	return best;
}

static struct pattern *best_by_skeleton(sb_drain *d, struct node *leaf)
{
	struct pattern *best = NULL;
	struct score top = { 0, 0, 0 }, s;

	for (struct pattern *p = leaf ? leaf->first : NULL; p; p = p->next[BY_SKELETON])
		if (score(d, p, d->skel, p->skel, p->nskel, p->skel_const, &s) && better(&s, &top)) {
			best = p;
			top = s;
		}
	return best;
}

/*
 * Lays a message with the pattern's constant words but another word count
 * over the pattern's positions: its constant words go where the pattern's
 * are, its variables fill the pattern's variables between them in order,
 * a variable where the pattern has none becomes a gap ("bytes <*> sent"),
 * and a variable position it lacks gets "<*>".
 */
static int align(sb_drain *d, struct pattern *p)
{
	size_t k = 0, slot = 0;
	int gaps = 0;

	if (p->n > d->veccap) {
		d->veccap = p->n;
		d->vec = sb_realloc(d->vec, d->veccap * sizeof *d->vec);
	}
	for (size_t i = 0; i < p->n; i++)
		d->vec[i] = d->var;
	for (size_t j = 0; j < d->ntoks; j++) {
		size_t anchor = k < p->nskel ? p->skel[k] : p->n;
		if (!(d->toks[j].flags & TOK_PURE)) {
			d->vec[anchor] = d->toks[j];
			slot = anchor + 1;
			k++;
		} else if (slot < anchor) {
			d->vec[slot++] = d->toks[j];
		} else if (slot == (k > 0 ? p->skel[k - 1] + 1 : 0) && !p->gap[anchor]) {
			p->gap[anchor] = gaps = 1;
		}
	}
	return gaps;
}

/* ---- Templates. */

static struct sb_drain_cluster *root_of(struct sb_drain_cluster *c)
{
	while (c->into)
		c = c->into;
	return c;
}

static const struct sb_drain_cluster *croot_of(const struct sb_drain_cluster *c)
{
	while (c->into)
		c = c->into;
	return c;
}

static const struct tok *word_at(const struct pattern *p, const struct sb_drain_cluster *c, size_t i)
{
	return p->state[i] == POS_OPEN ? &c->val[i] : &p->t[i];
}

static void render(struct sb_drain_cluster *c)
{
	const struct pattern *p = c->pat;
	size_t len = 1;
	char *o;

	for (size_t i = 0; i <= p->n; i++)
		len += (p->gap[i] ? VARLEN + 1 : 0) + (i < p->n ? word_at(p, c, i)->len + 1 : 0);
	o = c->tmpl = sb_realloc(c->tmpl, len);
	for (size_t i = 0; i <= p->n; i++) {
		if (p->gap[i]) {
			memcpy(o, VAR " ", VARLEN + 1);
			o += VARLEN + 1;
		}
		if (i < p->n) {
			const struct tok *t = word_at(p, c, i);
			memcpy(o, t->s, t->len);
			o += t->len;
			*o++ = ' ';
		}
	}
	if (o > c->tmpl)
		o--;
	*o = '\0';
}

static void render_all(struct pattern *p)
{
	for (struct sb_drain_cluster *c = p->subs; c; c = c->snext)
		render(c);
}

static uint64_t key_of(const struct pattern *p, const struct tok *val)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t k = 0; k < p->nopen; k++)
		h = (h ^ val[p->open[k]].hash) * 1099511628211ULL;
	return h;
}

static int same_open(const struct pattern *p, const struct tok *a, const struct tok *b)
{
	for (size_t k = 0; k < p->nopen; k++)
		if (!tok_eq(&a[p->open[k]], &b[p->open[k]]))
			return 0;
	return 1;
}

/* After positions changed state: the open list and every template's key. */
static void rekey(struct pattern *p)
{
	p->nopen = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->state[i] == POS_OPEN)
			p->open[p->nopen++] = i;
	for (struct sb_drain_cluster *c = p->subs; c; c = c->snext)
		c->key = key_of(p, c->val);
}

static void recency_unlink(sb_drain *d, struct sb_drain_cluster *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->tail = c->prev;
	c->prev = c->next = NULL;
}

static void recency_insert_before(sb_drain *d, struct sb_drain_cluster *c, struct sb_drain_cluster *at)
{
	c->next = at;
	c->prev = at ? at->prev : d->tail;
	if (c->prev)
		c->prev->next = c;
	else
		d->head = c;
	if (at)
		at->prev = c;
	else
		d->tail = c;
}

static void touch(sb_drain *d, struct sb_drain_cluster *c)
{
	c->seen = ++d->tick;
	if (d->head != c) {
		recency_unlink(d, c);
		recency_insert_before(d, c, d->head);
	}
}

static void sub_link(struct pattern *p, struct sb_drain_cluster *c)
{
	c->sprev = NULL;
	c->snext = p->subs;
	if (p->subs)
		p->subs->sprev = c;
	p->subs = c;
	p->nsubs++;
}

static void sub_unlink(struct pattern *p, struct sb_drain_cluster *c)
{
	if (c->sprev)
		c->sprev->snext = c->snext;
	else
		p->subs = c->snext;
	if (c->snext)
		c->snext->sprev = c->sprev;
	p->nsubs--;
}

static struct sb_drain_cluster *sub_new(sb_drain *d, struct pattern *p, const struct tok *vec)
{
	struct sb_drain_cluster *c = sb_calloc(1, sizeof *c);

	c->seq = ++d->seq;
	c->pat = p;
	c->val = sb_calloc(p->n + 1, sizeof *c->val);
	c->valtext = copy_toks(c->val, vec, p->n);
	c->key = key_of(p, c->val);
	sub_link(p, c);
	recency_insert_before(d, c, d->head);
	c->seen = ++d->tick;
	d->count++;
	render(c);
	return c;
}

static void free_stubs(struct sb_drain_cluster *c)
{
	struct sb_drain_cluster *s = c->stubs, *next;

	for (; s; s = next) {
		next = s->next_stub;
		free(s);
	}
}

/* Folds from into into: from becomes a stub that answers for into. */
static void merge(sb_drain *d, struct sb_drain_cluster *into, struct sb_drain_cluster *from)
{
	struct sb_drain_cluster *last;

	if (d->on_merge)
		d->on_merge(d->merge_ctx, into, from);
	if (from->seen > into->seen) {
		recency_unlink(d, into);
		recency_insert_before(d, into, from);
		into->seen = from->seen;
	}
	recency_unlink(d, from);
	sub_unlink(from->pat, from);
	d->count--;
	free(from->val);
	free(from->valtext);
	free(from->tmpl);
	from->val = NULL;
	from->valtext = from->tmpl = NULL;
	from->pat = NULL;
	from->user = NULL;
	from->into = into;
	if (from->stubs) {
		last = from->stubs;
		while (last->next_stub)
			last = last->next_stub;
		last->next_stub = into->stubs;
		into->stubs = from->stubs;
		from->stubs = NULL;
	}
	from->next_stub = into->stubs;
	into->stubs = from;
}

/* Templates whose words now agree at every open position are one: the older stays. */
static void merge_duplicates(sb_drain *d, struct pattern *p)
{
	struct sb_drain_cluster *a, *b;

again:
	for (a = p->subs; a; a = a->snext)
		for (b = a->snext; b; b = b->snext)
			if (a->key == b->key && same_open(p, a->val, b->val)) {
				if (a->seq < b->seq)
					merge(d, a, b);
				else
					merge(d, b, a);
				goto again;
			}
}

static int has_var(const struct tok *t)
{
	return (t->flags & TOK_VAR) != 0;
}

/*
 * Position i becomes a variable. It is shown with what its words share up
 * to a separator, so uid=0 and uid=5 show as uid=<*>.
 */
static void make_variable(sb_drain *d, struct pattern *p, size_t i)
{
	const struct tok *first = &p->subs->val[i];
	size_t pre = first->len, suf = first->len, min = first->len;

	for (struct sb_drain_cluster *c = p->subs->snext; c; c = c->snext) {
		const struct tok *t = &c->val[i];
		size_t k = 0;
		while (k < pre && k < t->len && t->s[k] == first->s[k])
			k++;
		pre = k;
		for (k = 0; k < suf && k < t->len && t->s[t->len - 1 - k] == first->s[first->len - 1 - k]; k++)
			;
		suf = k;
		min = t->len < min ? t->len : min;
	}
	while (pre > 0 && !is(C_OPENS, first->s[pre - 1]))
		pre--;
	while (suf > 0 && !is(C_CLOSES, first->s[first->len - suf]))
		suf--;
	if (pre + suf > min)
		suf = 0;
	p->state[i] = POS_VAR;
	if (pre == 0 && suf == 0) {
		p->t[i] = d->var;
		return;
	}
	p->shown[i] = sb_malloc(pre + VARLEN + suf + 1);
	memcpy(p->shown[i], first->s, pre);
	memcpy(p->shown[i] + pre, VAR, VARLEN);
	memcpy(p->shown[i] + pre + VARLEN, first->s + first->len - suf, suf);
	p->shown[i][pre + VARLEN + suf] = '\0';
	p->t[i] = make_tok(p->shown[i], pre + VARLEN + suf);
}

/* The open position with the most distinct words. */
static size_t most_varied(const struct pattern *p)
{
	size_t best = p->open[0], most = 0;

	for (size_t k = 0; k < p->nopen; k++) {
		size_t i = p->open[k], distinct = 0;
		for (struct sb_drain_cluster *c = p->subs; c; c = c->snext) {
			struct sb_drain_cluster *o = p->subs;
			while (o != c && !tok_eq(&o->val[i], &c->val[i]))
				o = o->snext;
			distinct += o == c;
		}
		if (distinct > most) {
			most = distinct;
			best = i;
		}
	}
	return best;
}

/*
 * After template c was added: an open position where c and the templates
 * that differ from it there alone show distinct_values distinct words (or
 * two, all with a masked part) is a variable; so is the most varied one of
 * a pattern with more than max_variants templates. Counting only templates
 * that agree elsewhere keeps pairs that vary together ("from NEW to
 * SCHEDULED", "from SCHEDULED to RUNNING") as separate events.
 */
static void promote_variables(sb_drain *d, struct pattern *p, struct sb_drain_cluster *c)
{
	size_t *count = sb_calloc(p->nopen + 1, sizeof *count);
	unsigned char *masked = sb_calloc(p->nopen + 1, 1);
	int promoted = 0;

	for (size_t k = 0; k < p->nopen; k++) {
		count[k] = 1;
		masked[k] = has_var(&c->val[p->open[k]]);
	}
	for (struct sb_drain_cluster *o = p->subs; o; o = o->snext) {
		size_t diff = 0, at = 0;
		for (size_t k = 0; o != c && k < p->nopen && diff < 2; k++)
			if (!tok_eq(&o->val[p->open[k]], &c->val[p->open[k]])) {
				diff++;
				at = k;
			}
		if (diff == 1) {
			count[at]++;
			masked[at] &= has_var(&o->val[p->open[at]]);
		}
	}
	for (size_t k = 0; k < p->nopen; k++)
		if (count[k] >= (size_t)d->p.distinct_values || (masked[k] && count[k] >= 2)) {
			make_variable(d, p, p->open[k]);
			promoted = 1;
		}
	if (!promoted && p->nopen > 0 && p->nsubs > (size_t)d->p.max_variants) {
		make_variable(d, p, most_varied(p));
		promoted = 1;
	}
	free(count);
	free(masked);
	if (promoted) { /* rendered first, so on_merge sees both with their common template */
		rekey(p);
		render_all(p);
		merge_duplicates(d, p);
	}
}

/* Joins a message (its words over the pattern's positions) to pattern p. */
static struct sb_drain_cluster *absorb(sb_drain *d, struct pattern *p, const struct tok *vec, int changed)
{
	struct sb_drain_cluster *c;
	uint64_t key;

	for (size_t i = 0; i < p->n; i++)
		if (p->state[i] == POS_CONST && !tok_eq(&p->t[i], &vec[i])) {
			p->state[i] = POS_OPEN;
			p->nconst--;
			p->skel_const -= !(p->t[i].flags & TOK_PURE);
			changed = 1;
		}
	if (changed) {
		rekey(p);
		render_all(p);
	}
	key = key_of(p, vec);
	for (c = p->subs; c; c = c->snext)
		if (c->key == key && same_open(p, c->val, vec))
			break;
	if (c) {
		if (c != p->subs) { /* the most recent first, for the next lookup */
			sub_unlink(p, c);
			sub_link(p, c);
		}
		return c;
	}
	c = sub_new(d, p, vec);
	promote_variables(d, p, c);
	return root_of(c);
}

/* Removes a live template, its stubs and, when it was the last, its pattern. */
static void cluster_free(sb_drain *d, struct sb_drain_cluster *c)
{
	struct pattern *p = c->pat;

	recency_unlink(d, c);
	sub_unlink(p, c);
	d->count--;
	free_stubs(c);
	free(c->val);
	free(c->valtext);
	free(c->tmpl);
	free(c);
	if (!p->nsubs)
		pattern_free(d, p);
}

/* ---- Public interface. */

void sb_drain_defaults(struct sb_drain_params *p)
{
	p->depth = 4;
	p->similarity = 0.5;
	p->max_children = 100;
	p->max_templates = 0;
	p->distinct_values = 4;
	p->max_variants = 32;
}

sb_drain *sb_drain_new(const struct sb_drain_params *p)
{
	sb_drain *d = sb_calloc(1, sizeof *d);
	struct sb_drain_params def;

	sb_drain_defaults(&def);
	d->p = p ? *p : def;
	if (d->p.depth < 2)
		d->p.depth = def.depth;
	if (!(d->p.similarity >= 0 && d->p.similarity <= 1))
		d->p.similarity = def.similarity;
	if (d->p.max_children < 1)
		d->p.max_children = def.max_children;
	if (d->p.distinct_values < 1)
		d->p.distinct_values = def.distinct_values;
	if (d->p.max_variants < 1)
		d->p.max_variants = def.max_variants;
	d->var = make_tok(VAR, VARLEN);
	d->edges = sb_strmap_new();
	return d;
}

struct sb_drain_cluster *sb_drain_add(sb_drain *d, const char *msg, size_t len)
{
	struct pattern *p;
	struct sb_drain_cluster *c;

	tokenize(d, msg, len);
	if ((p = best_by_words(d, descend(d, BY_WORDS, d->toks, d->ntoks, 0)))) {
		c = absorb(d, p, d->toks, 0);
	} else if ((p = best_by_skeleton(d, descend(d, BY_SKELETON, d->skel, d->nskel, 0)))) {
		int gaps = align(d, p);
		c = absorb(d, p, d->vec, gaps);
	} else {
		p = pattern_new(d);
		c = absorb(d, p, d->toks, 0);
	}
	touch(d, c);
	while (d->p.max_templates && d->count > d->p.max_templates && d->tail != c) {
		struct sb_drain_cluster *old = d->tail;
		if (d->on_evict)
			d->on_evict(d->evict_ctx, old);
		cluster_free(d, old);
		d->evicted++;
	}
	return c;
}

const char *sb_drain_template(const struct sb_drain_cluster *c)
{
	return croot_of(c)->tmpl;
}

unsigned long sb_drain_cluster_seq(const struct sb_drain_cluster *c)
{
	return croot_of(c)->seq;
}

void **sb_drain_user(struct sb_drain_cluster *c)
{
	return &root_of(c)->user;
}

void sb_drain_on_evict(sb_drain *d, void (*fn)(void *ctx, struct sb_drain_cluster *c), void *ctx)
{
	d->on_evict = fn;
	d->evict_ctx = ctx;
}

void sb_drain_on_merge(sb_drain *d,
		       void (*fn)(void *ctx, struct sb_drain_cluster *into, struct sb_drain_cluster *from),
		       void *ctx)
{
	d->on_merge = fn;
	d->merge_ctx = ctx;
}

void sb_drain_foreach(sb_drain *d, void (*fn)(void *ctx, struct sb_drain_cluster *c), void *ctx)
{
	for (struct sb_drain_cluster *c = d->tail, *prev; c; c = prev) {
		prev = c->prev;
		fn(ctx, c);
	}
}

size_t sb_drain_count(const sb_drain *d)
{
	return d->count;
}

unsigned long sb_drain_evicted(const sb_drain *d)
{
	return d->evicted;
}

void sb_drain_free(sb_drain *d)
{
	if (!d)
		return;
	while (d->tail)
		cluster_free(d, d->tail);
	sb_strmap_free(d->edges);
	free(d->text.s);
	free(d->key.s);
	free(d->words);
	free(d->toks);
	free(d->skel);
	free(d->offs);
	free(d->vec);
	free(d);
}
