"""``envelope serve``: the local keystore as an AWS KMS endpoint for every AWS SDK and tool."""

from __future__ import annotations

from typing import Annotated

import typer

from envelope_cli.common import CliError, state


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 4599,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host: requests and data keys then cross the network.",
        ),
    ] = False,
    log_requests: Annotated[
        bool,
        typer.Option(
            "--log-requests",
            help="One JSON line per request on stderr: operation, principal, key, result, latency.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: one per core, at most 4).", show_default=False
        ),
    ] = None,
    tls_cert: Annotated[
        str | None, typer.Option("--tls-cert", help="PEM certificate: serve HTTPS.")
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option("--tls-key", help="PEM private key (PKCS#8) of --tls-cert.")
    ] = None,
    body_timeout: Annotated[
        float,
        typer.Option(
            "--body-timeout",
            min=0.1,
            max=3600,
            help="Seconds a request may take to send its body; then 408 and the connection closes.",
        ),
    ] = 30.0,
) -> None:
    """Serve the local keystore on the AWS KMS JSON protocol, with SigV4 authentication.

    Point any AWS SDK or tool at it with an endpoint URL (AWS_ENDPOINT_URL_KMS) and a principal's
    access key (envelope principal create NAME). SIGTERM or Ctrl-C stops it after the requests in
    flight finish.
    """
    import os

    kms = (state.kms or os.environ.get("ENVELOPE_KMS") or "local").strip().lower()
    if kms != "local":
        raise CliError("envelope serve serves the local keystore; drop --kms aws / ENVELOPE_KMS")
    from envelope.server.run import check_bind
    from envelope.server.run import serve as run

    try:
        check_bind(host, allow_remote=allow_remote)
    except Exception as e:
        raise typer.BadParameter(str(e), param_hint="--host") from None
    run(
        host=host,
        port=port,
        allow_remote=allow_remote,
        log_requests=log_requests,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
        body_timeout=body_timeout,
    )
