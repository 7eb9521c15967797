"""Signs a message with DKIM using dkimpy, the reference implementation, for the sender-check test.

Usage: dkim_sign.py PRIVATE_KEY_PEM SELECTOR DOMAIN < message > signed message
"""

import sys

import dkim


def main() -> None:
    key_file, selector, domain = sys.argv[1:4]
    message = sys.stdin.buffer.read()
    with open(key_file, "rb") as f:
        key = f.read()
    signature = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        key,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    sys.stdout.buffer.write(signature + message)


if __name__ == "__main__":
    main()
