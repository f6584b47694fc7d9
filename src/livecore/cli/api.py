"""`livecore api`: the REST API, dashboard and Prometheus metrics in the foreground.

It reads the same coordination store and database as the other processes and
sends commands on the same bus (global ``--bus/--coord/--db/--secret``). With
the embedded ``memory://`` backends there is nothing to see from a separate
process: ``livecore run`` serves the dashboard itself.
"""

from __future__ import annotations

import typer
from rich.console import Console

from livecore.api.config import DEFAULT_HOST, DEFAULT_PORT, TOKEN_ENV, ApiConfig
from livecore.cli.context import notifications, serving_metrics, settings_of
from livecore.cli.options import metrics_host_option, metrics_port_option
from livecore.config import is_embedded
from livecore.ops import open_ops


def api(
    ctx: typer.Context,
    host: str = typer.Option(DEFAULT_HOST, "--host", help="address to listen on (0.0.0.0 exposes it)"),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="port to listen on"),
    token: str = typer.Option(
        "",
        "--token",
        envvar=TOKEN_ENV,
        help="bearer token for the mutating endpoints (without one they answer 403)",
        show_default=False,
    ),
    metrics_port: int = metrics_port_option(),
    metrics_host: str = metrics_host_option(),
) -> None:
    """Serve the REST API, the web dashboard (/) and Prometheus metrics (/metrics) until Ctrl-C."""
    # imported here: FastAPI and uvicorn would add half a second to every other command
    from livecore.api.app import create_app
    from livecore.api.server import ApiServer

    settings = settings_of(ctx)
    config = ApiConfig(host=host, port=port, token=token)
    console = Console(stderr=True)
    if is_embedded(settings.coord_url):
        console.print(
            "[yellow]note:[/] memory:// backends live inside one process, so this API sees an empty system; "
            "`livecore run` serves the dashboard itself, or point --coord/--db/--bus at shared servers",
            highlight=False,
        )
    with (
        serving_metrics(metrics_host, metrics_port, console),
        open_ops(settings, with_bus=True) as ops,
        notifications(settings, "api") as notices,
    ):
        server = ApiServer(create_app(ops, config, notices), config.host, config.port, log_level="warning")
        url = server.listen()
        actions = "enabled" if config.token else f"disabled (no --token / {TOKEN_ENV})"
        console.print(
            f"livecore API on {url}: dashboard {url}/, metrics {url}/metrics, mutating endpoints {actions}",
            highlight=False,
        )
        server.serve_forever()
