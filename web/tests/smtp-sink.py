#!/usr/bin/env python3
"""A real SMTP server for the tests: aiosmtpd on a free loopback port, writing every message it
accepts to DIR as NNNN.eml (the message as received) and NNNN.json (the envelope's sender and
recipients, whether it came over TLS, and the decoded From, To, Subject and plain-text body, so
tests can search the words rather than their quoted-printable or base64 form), then printing one
line `smtp-sink message DIR/NNNN.eml`.

Usage: smtp-sink.py DIR [--starttls]

With --starttls it makes a self-signed certificate for 127.0.0.1 (with openssl) into
DIR/cert.pem and refuses every command but EHLO, STARTTLS and QUIT until the client has upgraded,
as a mail server that requires TLS does. Without it, plain text (Trygg allows that only to a
loopback host). Prints `smtp-sink listening at 127.0.0.1:PORT` once it accepts connections and
runs until stdin closes or it is killed, so it never outlives the test that started it.

Installed by `cargo xtask test` (or `cargo xtask smtp-sink`) into a virtualenv beside the build
output; see xtask/src/main.rs.
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import subprocess
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.directory, f"{self.count:04d}")
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        body = message.get_body(("plain",))
        with open(stem + ".json.tmp", "w", encoding="utf-8") as out:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "tls": session.ssl is not None,
                    "from": str(message["From"]),
                    "to": str(message["To"]),
                    "subject": str(message["Subject"]),
                    "content_type": message.get_content_type(),
                    "text": body.get_content() if body is not None else None,
                },
                out,
                ensure_ascii=False,
            )
        with open(stem + ".eml.tmp", "wb") as out:
            out.write(content)
        # Renamed only when complete, so a reader never sees half a message.
        os.replace(stem + ".json.tmp", stem + ".json")
        os.replace(stem + ".eml.tmp", stem + ".eml")
        print(f"smtp-sink message {stem}.eml", flush=True)
        return "250 2.0.0 Message accepted"


def self_signed(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            # A server certificate, not an authority: rustls refuses a CA as the end entity.
            "-addext", "basicConstraints=critical,CA:FALSE",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit("usage: smtp-sink.py DIR [--starttls]")
    directory = args[0]
    os.makedirs(directory, exist_ok=True)
    tls_context = self_signed(directory) if "--starttls" in args else None
    handler = Sink(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="smtp-sink.localhost",
            tls_context=tls_context,
            require_starttls=tls_context is not None,
        ),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"smtp-sink listening at 127.0.0.1:{port}", flush=True)
    # Run until whoever started us closes our stdin (or dies, which closes it too).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
