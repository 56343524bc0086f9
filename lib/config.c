/* config.c - locating and loading the JSON configuration file */
#include "config.h"
#include "err.h"
#include "fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path;

	if (xdg && *xdg)
		path = sb_asprintf("%s/sb/config.json", xdg);
	else if (home && *home)
		path = sb_asprintf("%s/.config/sb/config.json", home);
	else
		path = NULL;
	if (path && access(path, F_OK) == 0)
		return path;
	free(path);
	if (access("/etc/sb/config.json", F_OK) == 0)
		return sb_strdup("/etc/sb/config.json");
	return NULL;
}

static jv parse_config(const char *path)
{
	size_t len;
	char *text = sb_read_file(path, &len);
	jv cfg;

	if (!text)
		sb_die(SB_EXIT_USAGE, "cannot read configuration '%s':", path);
	cfg = jv_parse_sized(text, (int)len);
	free(text);
	if (!jv_is_valid(cfg)) {
		jv msg = jv_invalid_get_msg(cfg);
		sb_die(SB_EXIT_USAGE, "%s: invalid JSON: %s", path,
		       jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
	}
	if (jv_get_kind(cfg) != JV_KIND_OBJECT)
		sb_die(SB_EXIT_USAGE, "%s: configuration is not a JSON object", path);
	return cfg;
}

jv sb_config_load(const char *explicit, char **used)
{
	const char *env = getenv("SB_CONFIG");
	char *path;

	if (explicit)
		path = sb_strdup(explicit);
	else if (env && *env)
		path = sb_strdup(env);
	else
		path = default_path();
	*used = path;
	return path ? parse_config(path) : jv_object();
}

jv sb_config_get(jv cfg, const char *path)
{
	jv cur = jv_copy(cfg);
	const char *p = path;

	while (*p) {
		size_t n = strcspn(p, ".");
		if (jv_get_kind(cur) != JV_KIND_OBJECT) {
			jv_free(cur);
			return jv_null();
		}
		cur = jv_object_get(cur, jv_string_sized(p, (int)n));
		if (!jv_is_valid(cur)) {
			jv_free(cur);
			return jv_null();
		}
		p += n;
		if (*p == '.')
			p++;
	}
	return cur;
}
