"""Run a command with a lower open-file limit, as on a host or container with `ulimit -n 1024`:

    python nofile_limit.py 1024 -- carebot serve slack --http ...
"""
import os
import resource
import sys


def main(argv: list) -> None:
    limit = int(argv[1])
    command = argv[argv.index("--") + 1:]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
