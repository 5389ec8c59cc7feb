"""`yunfab vision watch`: count a station's camera stream and report each window's count to
the node as progress on the station's work order. The camera's credentials are those of every
command that calls a server (`yunfab_cli.credentials`): usually a factory client at the hub in
YUNFAB_CLIENT_ID / YUNFAB_CLIENT_SECRET (YUNFAB_CAMERA_CLIENT_* still work, with a notice)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from yunfab.console import CommandError, fail
from yunfab_cli.credentials import Target, bearer_for, hub_url

WATCH_SCOPE = "factories:write"


def watch_command(
    node: Annotated[str, typer.Option(help="The node's URL, e.g. http://127.0.0.1:8701.")],
    station: Annotated[str, typer.Option(help="The station's id (its counting line or zone).")],
    source: Annotated[
        str, typer.Option(help="A video file, an rtsp:// or http:// stream, or a camera index.")
    ],
    hub: Annotated[
        str | None,
        typer.Option(help="The hub that issues the camera's tokens (env YUNFAB_HUB_URL)."),
    ] = None,
    window_s: Annotated[float, typer.Option(min=1, help="Seconds per reported window.")] = 60.0,
    started_at: Annotated[
        str | None,
        typer.Option(help="When the video began (ISO time with zone); default now."),
    ] = None,
    audience: Annotated[
        str | None, typer.Option(help="The node's public URL, when --node reaches it otherwise.")
    ] = None,
    realtime: Annotated[
        bool, typer.Option(help="Time by the wall clock (live cameras) or by the file's frames.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(help="A bearer token for the node (env YUNFAB_TOKEN).", show_default=False),
    ] = None,
) -> None:
    """Count items in a camera stream and report them per window; frames are never kept."""
    from regional_node.vision.camera import NodeReporter
    from regional_node.vision.service import counter
    from vision_ml.camera import frames, windows
    from yunfab.errors import YunfabError

    class Reporter(NodeReporter):
        """Its tokens come the way every command's do (a given token, the client's, a login)."""

        def _bearer(self) -> dict[str, str]:
            bearer = bearer_for(target, token=token, scope=WATCH_SCOPE)
            return {"authorization": f"Bearer {bearer}"}

    try:
        issuer: str | None = hub_url(hub)
    except CommandError:  # only a token given as it is needs no hub
        issuer = None
    target = Target.node(node, issuer, audience)
    bearer_for(target, token=token, scope=WATCH_SCOPE)  # not signed in: say so before the video
    try:
        began = dt.datetime.fromisoformat(started_at) if started_at else dt.datetime.now(dt.UTC)
    except ValueError:
        fail("--started-at: an ISO 8601 time with its zone")
    if began.tzinfo is None:
        fail("--started-at: give the time zone, e.g. 2026-11-23T09:00:00+08:00")
    reporter = Reporter(node, issuer or node, "", "", audience=audience)
    total = 0
    try:
        config = reporter.station(station)
        if not config["counting"]:
            fail(f"station {config['slug']} has no counting line or zone")
        items = counter(config["counting"])
        for window in windows(
            frames(source, realtime=realtime), items, started_at=began, window_s=window_s
        ):
            total += window.count
            line = {"start": window.start.isoformat(), "end": window.end.isoformat(),
                    "counted": window.count}  # fmt: skip
            if window.count:
                result = reporter.report(station, window)
                line |= {"reported": result["reported"], "work_order": result["workOrder"]}
            typer.echo(json.dumps(line))
    except (ValueError, RuntimeError, PermissionError, YunfabError) as exc:
        fail(str(exc))
    finally:
        reporter.close()
    typer.echo(json.dumps({"station": station, "counted": total}))
