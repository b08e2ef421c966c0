#!/bin/sh
# Starts the Python plugin with its generated modules on the path.
here=$(dirname "$0")
PYTHONPATH="$here/gen${PYTHONPATH:+:$PYTHONPATH}" exec python3 "$here/plugin.py"
