"""`cornu` command line (being written)."""


def main(argv=None) -> int:
    raise SystemExit("cornu: the command line is not built yet")
