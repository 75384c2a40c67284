import sys

try:
    from xtal.cli import run
except KeyboardInterrupt:  # Ctrl-C while the command line is still being imported
    print("xtal: interrupted", file=sys.stderr)
    sys.exit(130)

run()
