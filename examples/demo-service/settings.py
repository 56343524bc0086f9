"""Reads and checks config.json, the only settings of the orders service.

Run as a script, it checks a configuration file and prints its key values:
bin/health and bin/reload use it to refuse a configuration the service
could not start with.
"""

import json
import sys

DEFAULTS = {
    "service": "orders",
    "listen": "127.0.0.1:8081",
    "db": {"path": "orders.sqlite", "pool_size": 10, "pool_timeout_ms": 5000},
    "log": {"level": "INFO", "slow_query_ms": 500},
}


class SettingsError(Exception):
    pass


def _int_in(section, key, low, high):
    value = section.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(f"{key} must be a whole number from {low} to {high}, not {value!r}")
    return value


def load(path="config.json"):
    """The settings of config.json merged over the defaults; SettingsError when unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise SettingsError(f"{path}: {e}") from e
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: not a JSON object")
    settings = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for key, value in raw.items():
        if isinstance(settings.get(key), dict) and isinstance(value, dict):
            settings[key].update(value)
        else:
            settings[key] = value
    _int_in(settings["db"], "pool_size", 1, 100)
    _int_in(settings["db"], "pool_timeout_ms", 1, 60000)
    _int_in(settings["log"], "slow_query_ms", 1, 60000)
    return settings


def main(argv):
    path = argv[1] if len(argv) > 1 else "config.json"
    try:
        s = load(path)
    except SettingsError as e:
        print(f"settings: {e}", file=sys.stderr)
        return 1
    db = s["db"]
    print(f"ok: db.pool_size={db['pool_size']} db.pool_timeout_ms={db['pool_timeout_ms']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
