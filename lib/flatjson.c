/* flatjson.c - a validating scan of one JSON object's top-level members (RFC 8259 grammar) */
#include "flatjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct scan {
	const char *p, *end;
	int depth;
};

static void skip_blank(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at s->p (at its opening quote): 1 and its body; plain when it needs no decoding. */
static int scan_string(struct scan *s, const char **body, size_t *len, char *plain)
{
	const char *p = s->p + 1;

	*plain = 1;
	for (; p < s->end; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*body = s->p + 1;
			*len = (size_t)(p - *body);
			s->p = p + 1;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c >= 0x80)
			*plain = 0; /* libjq checks UTF-8; leave such text to it */
		if (c == '\\') {
			*plain = 0;
			if (++p >= s->end)
				return 0;
			if (*p == 'u') {
				if (s->end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]))
					return 0;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return 0;
			}
		}
	}
	return 0;
}

static int digits(struct scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

static int scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!digits(s))
		return 0;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!digits(s))
			return 0;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!digits(s))
			return 0;
	}
	return 1;
}

static int scan_word(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

static int scan_value(struct scan *s, char *kind);

/* Members or elements between brackets; close is '}' or ']'. */
static int scan_container(struct scan *s, char close)
{
	const char *body;
	size_t len;
	char plain, kind;

	if (++s->depth > MAX_DEPTH)
		return 0;
	s->p++;
	skip_blank(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return 1;
	}
	for (;;) {
		if (close == '}') {
			if (s->p >= s->end || *s->p != '"' || !scan_string(s, &body, &len, &plain))
				return 0;
			skip_blank(s);
			if (s->p >= s->end || *s->p++ != ':')
				return 0;
			skip_blank(s);
		}
		if (!scan_value(s, &kind))
			return 0;
		skip_blank(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			skip_blank(s);
			continue;
		}
		if (s->p < s->end && *s->p == close) {
			s->p++;
			s->depth--;
			return 1;
		}
		return 0;
	}
}

static int scan_value(struct scan *s, char *kind)
{
	const char *body;
	size_t len;
	char plain;

	if (s->p >= s->end)
		return 0;
	switch (*s->p) {
	case '"': *kind = 's'; return scan_string(s, &body, &len, &plain);
	case '{': *kind = 'o'; return scan_container(s, '}');
	case '[': *kind = 'a'; return scan_container(s, ']');
	case 't': *kind = 't'; return scan_word(s, "true");
	case 'f': *kind = 'f'; return scan_word(s, "false");
	case 'n': *kind = 'z'; return scan_word(s, "null");
	default: *kind = 'n'; return scan_number(s);
	}
}

/* One top-level member: its key, then its value's span. */
static int scan_member(struct scan *s, struct sb_json_member *m)
{
	char plain;

	if (s->p >= s->end || *s->p != '"' || !scan_string(s, &m->key, &m->keylen, &plain) || !plain)
		return 0;
	skip_blank(s);
	if (s->p >= s->end || *s->p++ != ':')
		return 0;
	skip_blank(s);
	if (s->p < s->end && *s->p == '"') {
		m->kind = 's';
		return scan_string(s, &m->val, &m->vallen, &m->plain);
	}
	m->val = s->p;
	m->plain = 0;
	if (!scan_value(s, &m->kind))
		return 0;
	m->vallen = (size_t)(s->p - m->val);
	return 1;
}

int sb_flat_scan(const char *text, size_t len, struct sb_flat *out)
{
	struct scan s = {text, text + len, 1};

	out->n = 0;
	skip_blank(&s);
	if (s.p >= s.end || *s.p++ != '{')
		return 0;
	skip_blank(&s);
	if (s.p < s.end && *s.p == '}') {
		s.p++;
	} else {
		for (;;) {
			if (out->n == SB_FLAT_MAX || !scan_member(&s, &out->m[out->n]))
				return 0;
			out->n++;
			skip_blank(&s);
			if (s.p < s.end && *s.p == ',') {
				s.p++;
				skip_blank(&s);
				continue;
			}
			if (s.p < s.end && *s.p == '}') {
				s.p++;
				break;
			}
			return 0;
		}
	}
	skip_blank(&s);
	return s.p == s.end;
}

const struct sb_json_member *sb_flat_get(const struct sb_flat *f, const char *key)
{
	size_t n = strlen(key);

	for (int i = f->n - 1; i >= 0; i--)
		if (f->m[i].keylen == n && memcmp(f->m[i].key, key, n) == 0)
			return &f->m[i];
	return NULL;
}

int sb_flat_string(const struct sb_json_member *m, char *buf, size_t size)
{
	if (!m || m->kind != 's' || !m->plain || m->vallen >= size)
		return 0;
	memcpy(buf, m->val, m->vallen);
	buf[m->vallen] = '\0';
	return 1;
}

int sb_flat_number(const struct sb_json_member *m, double *out)
{
	char buf[64];

	if (!m || m->kind != 'n' || m->vallen >= sizeof buf)
		return 0;
	memcpy(buf, m->val, m->vallen);
	buf[m->vallen] = '\0';
	*out = strtod(buf, NULL);
	return isfinite(*out);
}
