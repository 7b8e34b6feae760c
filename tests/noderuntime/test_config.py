"""Configuration: defaults, files, environment, and clear errors."""

from __future__ import annotations

import json

import pytest

from noderuntime.config import Config, Limits


def test_documented_defaults():
    limits = Limits()
    assert (limits.wall_ms, limits.cpu_ms, limits.memory_mb) == (10_000, 2_000, 256)
    assert (limits.method_calls, limits.http_requests, limits.http_bytes, limits.log_bytes) == (200, 20, 5_000_000, 65_536)
    assert limits.read_documents == 1_000
    assert Config().mode == "isolated"
    assert (Config().mongo_uri, Config().mongo_database) == (None, "noderuntime")


def test_mongo_settings_from_file_and_env(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mongo_uri": "mongodb://db1/", "mongo_database": "bots"}))
    config = Config.from_file(path)
    assert (config.mongo_uri, config.mongo_database) == ("mongodb://db1/", "bots")
    env = Config.from_env(config, {"NODERUNTIME_MONGO_URI": "mongodb://db2/", "NODERUNTIME_MONGO_DB": "other"})
    assert (env.mongo_uri, env.mongo_database) == ("mongodb://db2/", "other")


def test_from_file_and_env(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mode": "inprocess", "limits": {"wall_ms": 500}, "fetch_allow_hosts": ["a:1"]}))
    config = Config.from_file(path)
    assert config.mode == "inprocess"
    assert config.limits.wall_ms == 500
    assert config.fetch_allow_hosts == ("a:1",)
    env = Config.from_env(config, {"NODERUNTIME_MODE": "isolated", "NODERUNTIME_FETCH_ALLOW_HOSTS": "b, c:2"})
    assert env.mode == "isolated"
    assert env.fetch_allow_hosts == ("b", "c:2")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "fast"}, "mode must be one of isolated, inprocess, not 'fast'"),
        ({"wrokers": 2}, "unknown config key(s): wrokers"),
        ({"limits": {"wall": 1}}, "unknown limit(s): wall"),
        ({"workers": 0}, "workers must be at least 1"),
    ],
)
def test_bad_config_is_named(data, message):
    with pytest.raises(ValueError) as caught:
        Config.from_dict(data)
    assert str(caught.value) == message
