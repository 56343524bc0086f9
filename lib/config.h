/* config.h - locating and loading the JSON configuration file */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <jv.h>

/*
 * Load the configuration: explicit (from --config) if given, else
 * $SB_CONFIG, else $XDG_CONFIG_HOME/sb/config.json (~/.config/sb/...),
 * else /etc/sb/config.json. A file named by --config or $SB_CONFIG must
 * exist; the default locations may be absent, giving an empty object.
 * A file that is unreadable, not JSON or not an object exits 2 with its
 * name. *used receives the path read (NULL when none); free it.
 */
jv sb_config_load(const char *explicit, char **used);

/*
 * The value at a dotted path ("score.risk", "components") in cfg
 * (borrowed); null when any step is missing or not an object.
 */
jv sb_config_get(jv cfg, const char *path);

#endif
