"""One realtime turn with the Python `openai` package, used unchanged.

Run by test/contract/openai-python.test.ts with the venv of
test/python/setup-venv.sh. argv[1] is a JSON object:

  client    "OpenAI" | "AsyncOpenAI" | "AzureOpenAI" | "AsyncAzureOpenAI"
  options   the client constructor's keyword arguments (base_url, azure_endpoint,
            websocket_base_url, api_key, api_version, azure_ad_token, ...)
  api       "ga" (client.realtime.connect) or "beta" (client.beta.realtime.connect)
  model     the model (or deployment) given to connect()
  connect   extra keyword arguments for connect() (extra_query, ...), optional
  appends   how many 100 ms chunks of 24 kHz PCM16 to append (default 10)
  wait_created  read events until session.created before sending anything
            (as an app that waits for the session does), optional

It prints one JSON line per server event, {"event": type, "class": the class
the client parsed it into, "code": an error event's code}, then one closing line: {"done": {...}} when
response.done arrived, or {"exception": {...}} for whatever the client raised
(a refusal before the upgrade, a close after it). The server certificate is
verified as the client does it by default: the test points SSL_CERT_FILE at
its throwaway CA.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from typing import Any

import openai

CHUNK_BYTES = 4800  # 100 ms at 24 kHz, PCM16 mono


def square_wave() -> bytes:
    """A square wave, never silent (the same chunk the Node test sends)."""
    out = bytearray(CHUNK_BYTES)
    for i in range(0, CHUNK_BYTES, 2):
        sample = 6000 if ((i >> 6) & 1) == 0 else -6000
        out[i : i + 2] = sample.to_bytes(2, "little", signed=True)
    return bytes(out)


def emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


class Turn:
    """What the app saw, filled in event by event."""

    def __init__(self) -> None:
        self.audio_bytes = 0
        self.transcript = ""
        self.status = ""
        self.updated = False

    def see(self, event: Any) -> str:
        kind = str(getattr(event, "type", ""))
        line: dict[str, Any] = {"event": kind, "class": f"{type(event).__module__}.{type(event).__qualname__}"}
        if kind == "error":
            line["code"] = getattr(event.error, "code", None)
        emit(line)
        if kind == "session.updated":
            self.updated = True
        elif kind in ("response.output_audio.delta", "response.audio.delta"):
            self.audio_bytes += len(base64.b64decode(event.delta))
        elif kind in ("response.output_audio_transcript.done", "response.audio_transcript.done"):
            self.transcript = event.transcript
        elif kind == "response.done":
            self.status = str(event.response.status)
        return kind

    def done(self) -> None:
        emit(
            {
                "done": {
                    "updated": self.updated,
                    "audio_bytes": self.audio_bytes,
                    "transcript": self.transcript,
                    "status": self.status,
                }
            }
        )


def session_update(api: str) -> dict[str, Any]:
    if api == "ga":
        return {"type": "realtime", "instructions": "Be brief."}
    return {"modalities": ["audio", "text"], "instructions": "Be brief."}


def report(exc: BaseException) -> None:
    """The exception as the app would meet it: its class, message, and status or close code."""
    info: dict[str, Any] = {
        "class": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": str(exc),
    }
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):
        info["status"] = response.status_code
        info["body"] = bytes(response.body or b"").decode("utf-8", "replace")
        retry_after = response.headers.get("Retry-After")
        if retry_after is not None:
            info["retry_after"] = retry_after
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None:
        info["code"] = rcvd.code
        info["reason"] = rcvd.reason
    emit({"exception": info})


def run_sync(args: dict[str, Any]) -> None:
    client = getattr(openai, args["client"])(**args["options"])
    realtime = client.realtime if args["api"] == "ga" else client.beta.realtime
    chunk = base64.b64encode(square_wave()).decode()
    turn = Turn()
    with realtime.connect(model=args["model"], **args.get("connect", {})) as conn:
        if args.get("wait_created"):
            for event in conn:
                if turn.see(event) == "session.created":
                    break
        conn.session.update(session=session_update(args["api"]))
        for event in conn:
            if turn.see(event) == "session.updated":
                break
        for _ in range(args.get("appends", 10)):
            conn.input_audio_buffer.append(audio=chunk)
        conn.input_audio_buffer.commit()
        for event in conn:
            if turn.see(event) == "response.done":
                break
    turn.done()


async def run_async(args: dict[str, Any]) -> None:
    client = getattr(openai, args["client"])(**args["options"])
    realtime = client.realtime if args["api"] == "ga" else client.beta.realtime
    chunk = base64.b64encode(square_wave()).decode()
    turn = Turn()
    async with realtime.connect(model=args["model"], **args.get("connect", {})) as conn:
        if args.get("wait_created"):
            async for event in conn:
                if turn.see(event) == "session.created":
                    break
        await conn.session.update(session=session_update(args["api"]))
        async for event in conn:
            if turn.see(event) == "session.updated":
                break
        for _ in range(args.get("appends", 10)):
            await conn.input_audio_buffer.append(audio=chunk)
        await conn.input_audio_buffer.commit()
        async for event in conn:
            if turn.see(event) == "response.done":
                break
    turn.done()


def main() -> None:
    args = json.loads(sys.argv[1])
    try:
        if args["client"].startswith("Async"):
            asyncio.run(run_async(args))
        else:
            run_sync(args)
    except Exception as exc:  # the test asserts on what the app would catch
        report(exc)


if __name__ == "__main__":
    main()
