"""The outgoing-mail test's relay: aiosmtpd with TLS and a required login.

Usage: relay.py PORT CERT KEY USER PASSWORD OUT_DIR (starttls|tls)

Each message lands in OUT_DIR as N.eml with N.json beside it (envelope, login, TLS).
Prints "ready" once listening and stops when its standard input closes.
"""

import json
import pathlib
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    port, cert, key, user, password, out, mode = sys.argv[1:8]
    out_dir = pathlib.Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    class Keep:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Keep.count += 1
            n = Keep.count
            (out_dir / f"{n}.eml").write_bytes(envelope.original_content or b"")
            login = session.auth_data if session.authenticated else None
            (out_dir / f"{n}.json").write_text(
                json.dumps(
                    {
                        "mail_from": envelope.mail_from,
                        "rcpt_tos": envelope.rcpt_tos,
                        "login": login.login.decode() if login else None,
                        "tls": server.transport.get_extra_info("ssl_object") is not None,
                    }
                )
            )
            return "250 2.0.0 kept"

    options = dict(
        hostname="127.0.0.1",
        port=int(port),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    if mode == "tls":
        # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; this socket is TLS from
        # its first byte, which the record's "tls" shows.
        options["auth_require_tls"] = False
        controller = Controller(Keep(), ssl_context=context, **options)
    else:
        controller = Controller(Keep(), tls_context=context, require_starttls=True, **options)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
