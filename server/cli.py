"""The `stenograph` command: up, stream, tail, notes, transcript, meetings, summariser."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from pydantic import ValidationError

from server.logs import configure_logging
from server.settings import Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stenograph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run a node: broker (embedded by default), model, servers")
    up.add_argument("--grpc-port", type=int)
    up.add_argument("--http-port", type=int)
    up.add_argument("--model", help='hub name, local CTranslate2 folder, or "bundled" (tiny.en)')
    up.add_argument("--device", choices=["cpu", "cuda", "auto"])
    up.add_argument("--compute-type")
    up.add_argument(
        "--kafka-bootstrap-servers", help="use this Kafka instead of the embedded broker"
    )
    up.add_argument("--max-streams", type=int)
    up.add_argument("--log-level")

    stream = commands.add_parser("stream", help="stream an audio file and print captions")
    stream.add_argument("file", type=Path)
    stream.add_argument("--meeting", default="demo")
    stream.add_argument("--participant", default="speaker")
    stream.add_argument("--transport", choices=["grpc", "ws"], default="grpc")
    stream.add_argument("--server", help="host:port for gRPC, ws://host:port for WebSocket")
    stream.add_argument("--fast", action="store_true", help="send as fast as the server accepts")
    stream.add_argument("--json", action="store_true", help="print every server message as JSON")

    tail = commands.add_parser("tail", help="follow final captions on the transcript topic")
    tail.add_argument("--meeting")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--bootstrap-server", help="Kafka bootstrap servers (host:port)")

    http_server = argparse.ArgumentParser(add_help=False)
    http_server.add_argument("--server", default=None, help="the node's HTTP address")
    notes = commands.add_parser("notes", parents=[http_server], help="a meeting's notes")
    notes.add_argument("meeting_id")
    notes.add_argument("--format", choices=["markdown", "json"], default="markdown")
    notes.add_argument("--watch", action="store_true", help="print new versions until final")
    transcript = commands.add_parser(
        "transcript", parents=[http_server], help="a meeting's stored transcript"
    )
    transcript.add_argument("meeting_id")
    transcript.add_argument("--format", choices=["text", "json", "vtt", "srt"], default="text")
    commands.add_parser("meetings", parents=[http_server], help="meetings with stored data")

    summariser = commands.add_parser(
        "summariser", help="run only a summariser (consumer group member), for scale-out"
    )
    summariser.add_argument("--kafka-bootstrap-servers")
    summariser.add_argument("--database-url")
    summariser.add_argument("--log-level")
    return parser


def _up(args: argparse.Namespace) -> int:
    from server.runner import serve

    try:
        settings = load_settings(
            grpc_port=args.grpc_port,
            http_port=args.http_port,
            model=args.model,
            device=args.device,
            compute_type=args.compute_type,
            kafka_bootstrap_servers=args.kafka_bootstrap_servers,
            max_streams=args.max_streams,
            log_level=args.log_level,
        )
    except ValidationError as e:
        print(f"error: invalid settings:\n{e}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(serve(settings))
    return 0


def _stream(args: argparse.Namespace) -> int:
    from server.file_streamer import stream_file

    configure_logging("WARNING", json_lines=False)
    return asyncio.run(
        stream_file(
            args.file,
            meeting=args.meeting,
            participant=args.participant,
            transport=args.transport,
            server=args.server,
            fast=args.fast,
            as_json=args.json,
        )
    )


def _tail(args: argparse.Namespace) -> int:
    from server.tail import tail

    settings = Settings()
    # Default: the embedded broker that `stenograph up` starts on this machine.
    bootstrap = (
        args.bootstrap_server
        or settings.kafka_bootstrap_servers
        or f"127.0.0.1:{settings.embedded_broker_port}"
    )
    configure_logging("WARNING", json_lines=False)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            tail(
                bootstrap, settings.transcripts_topic, args.meeting, args.from_beginning, sys.stdout
            )
        )
    return 0


def _read_notes(args: argparse.Namespace) -> int:
    from server import notes_cli

    server = args.server or f"http://127.0.0.1:{Settings().http_port}"
    try:
        if args.command == "notes":
            with contextlib.suppress(KeyboardInterrupt):
                return notes_cli.notes(args.meeting_id, args.format, args.watch, server)
            return 0
        if args.command == "transcript":
            return notes_cli.transcript(args.meeting_id, args.format, server)
        return notes_cli.meetings(server)
    except notes_cli.CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _summariser(args: argparse.Namespace) -> int:
    from summariser.service import serve_summariser

    try:
        settings = load_settings(
            kafka_bootstrap_servers=args.kafka_bootstrap_servers,
            database_url=args.database_url,
            log_level=args.log_level,
        )
    except ValidationError as e:
        print(f"error: invalid settings:\n{e}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(serve_summariser(settings))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "up": _up,
        "stream": _stream,
        "tail": _tail,
        "notes": _read_notes,
        "transcript": _read_notes,
        "meetings": _read_notes,
        "summariser": _summariser,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
