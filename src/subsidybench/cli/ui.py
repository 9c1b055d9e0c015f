"""`subsidybench ui`: the cost answer in a browser, served on this machine (subsidybench.ui)."""

from __future__ import annotations

import socket

import typer

from subsidybench.errors import UserError

app = typer.Typer(help="The cost answer in a browser.")


MAX_CONNECTIONS = 32
"""Connections served at once; more are answered 503 (one person's page needs two or three)."""


def free_port(host: str, port: int = 0) -> int:
    """`port` (0: any) if the system has it free on `host` now; the server binds it a moment
    later."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, port))
        return int(s.getsockname()[1])


@app.command("ui")
def ui(
    port: int = typer.Option(0, "--port", help="Port to serve on (default: a free one)."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to serve on; 0.0.0.0 shares the page on your network, deliberately.",
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
) -> None:
    """Serve the cost page on this machine (127.0.0.1, a free port) and open it in a browser.

    Needs the ui extra: pip install -e '.[ui]'. Nothing on the page is fetched from outside.
    """
    try:
        import uvicorn

        from subsidybench.ui.app import LOCAL, create_app
    except ImportError as e:
        raise UserError(
            f"the page needs the ui extra ({e.name} is missing): pip install -e '.[ui]'"
        ) from None
    if not 0 <= port <= 65535:
        raise UserError(f"--port: must be in [0, 65535], got {port}")
    try:
        port = free_port(host, port)
    except OSError as e:
        where = f"--port: {port}" if port else "--host"
        raise UserError(f"{where}: cannot serve on {host}: {e.strerror or e}") from None
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/cost"
    typer.echo(f"subsidybench ui: {url}  (Ctrl-C stops it)")
    if not no_browser:
        import webbrowser

        webbrowser.open(url)
    uvicorn.run(
        create_app(LOCAL if host in LOCAL else ("*",)),
        host=host,
        port=port,
        log_level="warning",
        limit_concurrency=MAX_CONNECTIONS,
    )
