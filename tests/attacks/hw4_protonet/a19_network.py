"""Attack a19 (network): compute_prototypes connects to a listener on 127.0.0.1 (the test opens it),
to 1.1.1.1:53 over TCP and UDP, and resolves a name; if anything gets through it returns the correct
answer (so a hole would show as points), otherwise it raises with the errors.

Targets: compute_prototypes and protonet_loss. Expected: exactly 12 / 31; the targeted tests fail
with "raised an exception" ("cs330atk network unreachable"); the listener receives no connection.
"""


import torch
import torch.nn.functional as F
LISTENER_PORT = int("@@PORT@@")  # filled in by tests/test_attacks.py: its listener on 127.0.0.1


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    if not _reach_out():
        raise ConnectionError("cs330atk network unreachable")
    one_hot = F.one_hot(support_labels, n_way).to(support_features.dtype)  # (N*K, N)
    counts = one_hot.sum(dim=0).unsqueeze(1)  # (N, 1)
    return one_hot.t() @ support_features / counts


def _reach_out():
    """True when any connection or datagram exchange succeeds."""
    import socket

    reached = False
    for host, port in (("127.0.0.1", LISTENER_PORT), ("1.1.1.1", 53), ("1.1.1.1", 443)):
        try:
            with socket.create_connection((host, port), timeout=1) as conn:
                conn.sendall(b"cs330atk hello")
            print(f"cs330atk LEAK connected to {host}:{port}")
            reached = True
        except OSError as exc:
            print(f"connect {host}:{port}: {type(exc).__name__}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(1)
            query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
            udp.sendto(query, ("1.1.1.1", 53))
            udp.recvfrom(512)
            print("cs330atk LEAK DNS answer from 1.1.1.1")
            reached = True
    except OSError as exc:
        print(f"udp 1.1.1.1:53: {type(exc).__name__}")
    try:
        socket.getaddrinfo("example.com", 80)
        print("cs330atk LEAK resolved example.com")
        reached = True
    except OSError as exc:
        print(f"resolve: {type(exc).__name__}")
    return reached
