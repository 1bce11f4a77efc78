"""ServerConfig: validated when built, one place for the image caps (``limits``), the old
``max_pixels=`` and ``url_timeout=`` kept as deprecated aliases."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from fashionclip.preprocess.image import ImageLimits
from fashionclip.server.config import SERVER_LIMITS, ServerConfig


@pytest.mark.parametrize(
    "settings",
    [
        {"max_upload_bytes": 0},
        {"limits": ImageLimits(max_pixels=-1)},
        {"limits": ImageLimits(url_timeout=0)},
        {"limits": ImageLimits(max_bytes=0)},
        {"max_batch": 0},
        {"max_k": True},
        {"max_wait": -0.1},
        {"api_key": "short"},
        {"card_fields": ("gender", "")},
        {"examples": ("red dress", 3)},
    ],
)
def test_bad_server_settings(settings: dict) -> None:
    with pytest.raises(ValueError):
        ServerConfig(**settings)


@pytest.mark.parametrize("settings", [{"max_pixels": -1}, {"url_timeout": 0}])
def test_bad_settings_through_the_deprecated_names_are_refused_too(settings: dict) -> None:
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError):
        ServerConfig(**settings)


def test_the_default_limits_are_the_servers_with_the_upload_cap_for_downloads() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults never warn
        config = ServerConfig()
        assert config.limits == SERVER_LIMITS
        assert ServerConfig(max_upload_bytes=1234).limits == dataclasses.replace(SERVER_LIMITS, max_bytes=1234)
    assert config.limits.max_pixels == 40_000_000 and config.limits.url_timeout == 10.0


def test_max_pixels_and_url_timeout_are_deprecated_aliases_of_limits() -> None:
    with pytest.warns(DeprecationWarning, match=r"limits=ImageLimits\(max_pixels=...\)"):
        old = ServerConfig(max_pixels=1000)
    assert old.limits == dataclasses.replace(SERVER_LIMITS, max_pixels=1000)
    with pytest.warns(DeprecationWarning, match="url_timeout"):
        timed = ServerConfig(url_timeout=2.5)
    assert timed.limits.url_timeout == 2.5
    with pytest.warns(DeprecationWarning, match="read limits.max_pixels"):
        assert old.max_pixels == 1000
    with pytest.warns(DeprecationWarning, match="read limits.url_timeout"):
        assert timed.url_timeout == 2.5
    # an alias given with limits changes that field of the given limits
    with pytest.warns(DeprecationWarning):
        both = ServerConfig(limits=ImageLimits(max_pixels=5, url_timeout=3.0), max_pixels=7)
    assert (both.limits.max_pixels, both.limits.url_timeout) == (7, 3.0)


def test_the_old_positional_order_still_holds() -> None:
    with pytest.warns(DeprecationWarning):
        config = ServerConfig("a-long-key", 2000, 300, True, 4.0)
    assert (config.api_key, config.max_upload_bytes, config.allow_urls) == ("a-long-key", 2000, True)
    assert (config.limits.max_pixels, config.limits.url_timeout) == (300, 4.0)


def test_a_config_is_frozen_and_replaceable() -> None:
    config = ServerConfig(card_fields=["colour"], examples=["red shoes"])
    assert config.card_fields == ("colour",) and config.examples == ("red shoes",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_k = 3  # type: ignore[misc]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        changed = dataclasses.replace(config, max_k=3)
    assert changed.max_k == 3 and changed.limits == config.limits and changed.card_fields == ("colour",)
    assert changed == dataclasses.replace(changed)
