"""``--notify`` (repeatable), ``LIVECORE_NOTIFY`` and ``--notify-fills`` reach the
deployment settings every process builds its notifier from."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from livecore.cli.app import app
from livecore.config import DeploymentSettings
from livecore.notify import NoticeKind, notify_settings

ROOT: Any = typer.main.get_command(app)


def parsed(*args: str) -> DeploymentSettings:
    """The settings the root callback builds from ``args`` (no subcommand runs)."""
    ctx = ROOT.make_context("livecore", [*args, "status"])
    with ctx:
        ctx.invoke(ROOT.callback, **ctx.params)
    assert isinstance(ctx.obj, DeploymentSettings)
    return ctx.obj


def test_repeated_options_each_may_hold_several_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVECORE_NOTIFY", raising=False)
    settings = parsed("--notify", "json://a:1/", "--notify", "json://b:2/, slack://x/y")
    assert settings.notify_urls == ("json://a:1/", "json://b:2/", "slack://x/y")
    assert not settings.notify_fills
    assert NoticeKind.FILL not in notify_settings(settings).kinds


def test_the_environment_variable_and_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECORE_NOTIFY", "json://a:1/,json://b:2/ json://c:3/")
    settings = parsed("--notify-fills")
    assert settings.notify_urls == ("json://a:1/", "json://b:2/", "json://c:3/")
    assert NoticeKind.FILL in notify_settings(settings).kinds


def test_no_urls_no_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVECORE_NOTIFY", raising=False)
    assert parsed().notify_urls == ()
